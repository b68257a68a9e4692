// Payments by Stripe in the web app (the server runs with --payments
// stripe): the learner's saved card and saving it on Stripe's hosted
// Checkout page, the expert's payout status and Stripe's hosted
// onboarding, and coming back from a card's 3-D Secure to complete a
// booking. No Stripe.js: every page of Stripe's is one it hosts, and it
// sends the browser back here. With the wallet the Stripe routes answer
// 404, and these pieces show nothing.

import { ApiError } from '../api.js';
import { el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { marketPage } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').Card} Card */
/** @typedef {import('./market-api.js').Payouts} Payouts */

/**
 * Leaves the app for one of Stripe's pages (it sends the browser back).
 * @param {string} url
 */
function goTo(url) {
  window.location.assign(url);
}

/**
 * Drops a query parameter the page came back with, so a reload does not
 * act on it again.
 * @param {string} name
 */
function dropParam(name) {
  const url = new URL(window.location.href);
  url.searchParams.delete(name);
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
}

/**
 * The card a learner's sessions are held on, with "Add a card" or
 * "Replace card" (Stripe's Checkout); null with the wallet. Back from
 * Checkout (?checkout=cs_…) it saves the card first.
 * @param {ViewContext} ctx
 * @returns {Promise<HTMLElement | null>}
 */
export async function cardSection(ctx) {
  const { i18n } = ctx;
  const notice = Notice.create('info');
  const errors = Notice.create('error');
  const returned = new URLSearchParams(window.location.search).get('checkout');
  if (returned) dropParam('checkout');
  /** @type {Card | null} */
  let card;
  try {
    if (returned && returned !== 'cancelled') {
      card = (await marketApi.completeCheckout(returned)).card;
      notice.show(i18n.t('market.card.saved'));
    } else {
      card = (await marketApi.card()).card;
      if (returned === 'cancelled') notice.show(i18n.t('market.card.cancelled'));
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && !returned) return null; // payments by the wallet
    if (ctx.intercept(error)) return null;
    card = null;
    errors.show(describeError(error, i18n));
  }
  const button = el('button', { type: 'button', class: card ? 'button-secondary' : 'button-primary', 'data-action': 'add-card' },
    i18n.t(card ? 'market.card.replace' : 'market.card.add'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    errors.clear();
    try {
      goTo((await marketApi.checkout()).url);
    } catch (error) {
      button.disabled = false;
      if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
    }
  });
  return el('section', { class: 'card market-payment-card', 'aria-labelledby': 'card-title', 'data-card': card ? `${card.brand} ${card.last4}` : '' },
    el('h2', { id: 'card-title' }, i18n.t('market.card.title')),
    card
      ? el('p', { class: 'market-saved-card' }, i18n.t('market.card.on', {
        brand: brandName(card.brand), last4: card.last4, expiry: `${String(card.exp_month).padStart(2, '0')}/${card.exp_year % 100}` }))
      : el('p', { class: 'muted' }, i18n.t('market.card.none')),
    el('p', { class: 'muted' }, i18n.t('market.card.hint')),
    notice, errors, button);
}

/** @param {string} brand */
function brandName(brand) {
  /** @type {Record<string, string>} */
  const names = { visa: 'Visa', mastercard: 'Mastercard', amex: 'American Express', discover: 'Discover', jcb: 'JCB', unionpay: 'UnionPay', diners: 'Diners Club' };
  return names[brand] ?? brand;
}

/**
 * An expert's payouts with Stripe: not set up, pending or enabled, with
 * "Set up payouts" (Stripe's hosted onboarding); null with the wallet.
 * @param {ViewContext} ctx
 * @returns {Promise<HTMLElement | null>}
 */
export async function payoutsSection(ctx) {
  const { i18n } = ctx;
  const back = new URLSearchParams(window.location.search).get('payouts');
  if (back) dropParam('payouts');
  /** @type {Payouts} */
  let payouts;
  try {
    payouts = await marketApi.stripePayouts();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
  const errors = Notice.create('error');
  const status = /** @type {'not_started' | 'pending' | 'enabled'} */ (payouts.status);
  const countryId = uniqueId('country');
  const region = (navigator.language.split('-')[1] ?? 'US').toUpperCase();
  const country = /** @type {HTMLInputElement} */ (el('input', { type: 'text', id: countryId, value: payouts.country || region, maxlength: 2,
    autocomplete: 'country', class: 'market-country' }));
  const button = el('button', { type: 'button', class: 'button-primary', 'data-action': 'set-up-payouts' },
    i18n.t(status === 'pending' ? 'market.payouts.continue' : 'market.payouts.setUp'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    errors.clear();
    try {
      goTo((await marketApi.openAccount(country.value.trim())).onboarding_url);
    } catch (error) {
      button.disabled = false;
      if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
    }
  });
  return el('section', { class: 'card market-payouts', 'aria-labelledby': 'payouts-title', 'data-payouts': status },
    el('h2', { id: 'payouts-title' }, i18n.t('market.payouts.title')),
    el('p', {}, el('span', { class: 'badge' }, i18n.t(/** @type {const} */ (`market.payouts.status.${status}`))), ' ',
      i18n.t(/** @type {const} */ (`market.payouts.hint.${status}`))),
    back === 'again' ? el('p', { class: 'muted' }, i18n.t('market.payouts.again')) : null,
    errors,
    status === 'enabled' ? null : el('div', { class: 'stack' },
      payouts.account ? null : el('div', { class: 'field' }, el('label', { for: countryId }, i18n.t('market.payouts.country')), country),
      button));
}

/**
 * /market/bookings/{attempt}/return: back from the card's bank (3-D
 * Secure), the booking is completed and the session opens.
 * @param {ViewContext} ctx
 * @param {string} attempt
 * @returns {View}
 */
export function bookingReturnView(ctx, attempt) {
  const { i18n } = ctx;
  const status = el('p', { role: 'status' }, i18n.t('market.confirm.working'));
  const errors = Notice.create('error');
  const element = marketPage(ctx, 'browse',
    el('section', { class: 'card', 'aria-labelledby': 'confirm-title' },
      el('h1', { id: 'confirm-title', tabindex: -1 }, i18n.t('market.confirm.title')), status, errors));
  marketApi.confirmBooking(attempt)
    .then((session) => ctx.navigate(`/market/sessions/${encodeURIComponent(session.id)}`))
    .catch((error) => {
      if (ctx.intercept(error)) return;
      status.textContent = '';
      const type = error instanceof ApiError ? error.problem.type ?? '' : '';
      const problem = error instanceof ApiError ? /** @type {import('./market-api.js').PaymentProblem} */ (error.problem) : null;
      if (type.endsWith('authentication-required') && problem?.authentication_url) {
        const again = el('a', { href: problem.authentication_url, class: 'button button-primary' }, i18n.t('market.confirm.again'));
        errors.show(i18n.t('market.confirm.waiting'));
        status.append(again);
        return;
      }
      errors.show(type.endsWith('slot-taken') ? i18n.t('market.confirm.slotTaken') : describeError(error, i18n));
    });
  return { element, title: i18n.t('market.confirm.title') };
}
