// /market/admin, for operators: experts and listings to review (approve,
// ask for changes, reject — with a reason, required but to approve),
// money-back guarantee claims, topping up a wallet (for demos), running
// payouts, and the ledger as CSV.

import { el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { ledgerCsvUrl, marketApi } from './market-api.js';
import { formatMoney, parseMajor, priceRule } from './money.js';
import { categoryName, field, languageName, marketPage, statusName } from './shared.js';
import { problemLines } from './expert-view.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

const currencies = ['USD', 'EUR', 'GBP', 'KRW', 'JPY'];

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function adminView(ctx) {
  const { i18n, user } = ctx;
  if (user?.role !== 'admin') {
    const element = marketPage(ctx, 'admin', el('section', { class: 'card' },
      el('h1', { tabindex: -1 }, i18n.t('market.admin.title')), el('p', {}, i18n.t('market.admin.only'))));
    return { element, title: i18n.t('market.admin.title') };
  }
  const experts = el('div', {}, el('p', { class: 'muted' }, i18n.t('app.loading')));
  const claims = el('div', {}, el('p', { class: 'muted' }, i18n.t('app.loading')));
  const element = marketPage(ctx, 'admin',
    el('section', { class: 'card', 'aria-labelledby': 'admin-title' },
      el('h1', { id: 'admin-title', tabindex: -1 }, i18n.t('market.admin.title')),
      el('p', {}, el('a', { href: ledgerCsvUrl, download: 'ledger.csv' }, i18n.t('market.admin.ledgerCsv')))),
    el('section', { class: 'card', 'aria-labelledby': 'review-experts-title' },
      el('h2', { id: 'review-experts-title' }, i18n.t('market.admin.experts')), experts),
    listingReview(ctx),
    el('section', { class: 'card', 'aria-labelledby': 'claims-title' },
      el('h2', { id: 'claims-title' }, i18n.t('market.admin.claims')), claims),
    topUpForm(ctx),
    payoutForm(ctx));

  const loadExperts = async () => {
    const [pending, changes] = await Promise.all([marketApi.experts('pending'), marketApi.experts('changes_requested')]);
    const all = [...pending.items, ...changes.items];
    const categories = (await marketApi.categories().catch(() => ({ items: [] }))).items;
    if (all.length === 0) {
      experts.replaceChildren(el('p', { class: 'muted' }, i18n.t('market.admin.nothing')));
      return;
    }
    experts.replaceChildren(el('ul', { class: 'item-list' }, ...all.map((expert) => el('li', { class: 'item market-review-item', 'data-expert': expert.user_id },
      el('div', { class: 'item-main' },
        el('span', { class: 'item-title' }, expert.name, el('span', { class: 'badge' }, statusName(i18n, expert.status))),
        el('span', {}, expert.headline),
        el('span', { class: 'item-meta' }, expert.categories.map((c) => categoryName(i18n, c, categories)).join(', '), ' · ',
          expert.languages.map((tag) => languageName(i18n, tag)).join(', ')),
        el('p', { class: 'market-description' }, expert.bio),
        expert.credentials ? el('p', { class: 'item-meta' }, i18n.t('market.apply.credentials'), ': ', expert.credentials) : null,
        expert.licence_number ? el('p', { class: 'item-meta' }, i18n.t('market.apply.licence'), ': ', expert.licence_number, ' (', expert.licence_jurisdiction ?? '', ')') : null),
      decisionForm(ctx, expert.status === 'pending', (decision, reason) => marketApi.decide('expert', expert.user_id, decision, reason), () => void loadExperts())))));
  };
  const loadClaims = async () => {
    const pending = (await marketApi.claims('pending')).items;
    if (pending.length === 0) {
      claims.replaceChildren(el('p', { class: 'muted' }, i18n.t('market.admin.nothing')));
      return;
    }
    claims.replaceChildren(el('ul', { class: 'item-list' }, ...pending.map((claim) => {
      const notice = Notice.create('error');
      const decide = (/** @type {boolean} */ approve) => async () => {
        notice.clear();
        try {
          await marketApi.decideClaim(claim.id, approve, '');
          await loadClaims();
        } catch (error) {
          if (!ctx.intercept(error)) notice.show(describeError(error, i18n));
        }
      };
      const approve = el('button', { type: 'button', class: 'button-primary' }, i18n.t('market.admin.approveClaim'));
      approve.addEventListener('click', decide(true));
      const reject = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('market.admin.rejectClaim'));
      reject.addEventListener('click', decide(false));
      return el('li', { class: 'item', 'data-claim': claim.id },
        el('div', { class: 'item-main' },
          el('a', { class: 'item-title', href: `/market/sessions/${encodeURIComponent(claim.session_id)}` }, i18n.t('market.admin.claimFor')),
          el('span', {}, claim.reason),
          el('span', { class: 'item-meta' }, i18n.formatDateTime(claim.created_at))),
        el('div', { class: 'market-actions' }, approve, reject), notice);
    })));
  };
  loadExperts().catch((error) => experts.replaceChildren(el('p', {}, describeError(error, i18n))));
  loadClaims().catch((error) => claims.replaceChildren(el('p', {}, describeError(error, i18n))));
  return { element, title: i18n.t('market.admin.title') };
}

/**
 * Approve, ask for changes or reject, with a reason.
 * @param {ViewContext} ctx
 * @param {boolean} canAskChanges
 * @param {(decision: string, reason: string) => Promise<unknown>} decide
 * @param {() => void} done
 */
function decisionForm(ctx, canAskChanges, decide, done) {
  const { i18n } = ctx;
  const reasonId = uniqueId('reason');
  const reason = el('textarea', { id: reasonId, rows: 2, maxlength: 2000 });
  const notice = Notice.create('error');
  const button = (/** @type {string} */ decision, /** @type {string} */ label, /** @type {string} */ cls) => {
    const b = el('button', { type: 'button', class: cls, 'data-decision': decision }, label);
    b.addEventListener('click', async () => {
      notice.clear();
      if (decision !== 'approve' && reason.value.trim() === '') {
        notice.show(i18n.t('market.admin.reasonNeeded'));
        reason.focus();
        return;
      }
      try {
        await decide(decision, reason.value);
        done();
      } catch (error) {
        if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
      }
    });
    return b;
  };
  return el('div', { class: 'market-decision stack' },
    field(i18n.t('market.admin.reason'), reason, i18n.t('market.admin.reasonHint')),
    el('div', { class: 'market-actions' },
      button('approve', i18n.t('market.admin.approve'), 'button-primary'),
      canAskChanges ? button('request_changes', i18n.t('market.admin.askChanges'), 'button-secondary') : null,
      button('reject', i18n.t('market.admin.reject'), 'button-danger')),
    notice);
}

/**
 * Listings to review. The API has no list of pending listings yet (a
 * server gap), so the operator opens one by its link or id — the expert's
 * dashboard shows both.
 * @param {ViewContext} ctx
 */
function listingReview(ctx) {
  const { i18n } = ctx;
  const inputId = uniqueId('listing-id');
  const input = el('input', { type: 'text', id: inputId, autocomplete: 'off' });
  const notice = Notice.create('error');
  const shown = el('div', {});
  const form = el('form', { class: 'inline-form' },
    field(i18n.t('market.admin.listingId'), input, i18n.t('market.admin.listingIdHint')),
    el('button', { type: 'submit', class: 'button-secondary' }, i18n.t('market.admin.open')), notice);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    const id = input.value.trim().split('/').filter(Boolean).pop() ?? '';
    try {
      const listing = await marketApi.listing(id);
      shown.replaceChildren(el('div', { class: 'stack', 'data-listing': listing.id },
        el('h3', {}, listing.title, el('span', { class: 'badge' }, statusName(i18n, listing.status))),
        el('p', {}, i18n.t('market.byExpert', { name: listing.expert_name })),
        el('p', {}, priceRule(i18n, listing)),
        el('p', { class: 'market-description' }, listing.description),
        decisionForm(ctx, listing.status === 'pending', (decision, reason) => marketApi.decide('listing', listing.id, decision, reason), () => {
          const decided = Notice.create('success');
          shown.replaceChildren(decided);
          decided.show(i18n.t('market.admin.decided'));
        })));
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(describeError(error, i18n));
    }
  });
  return el('section', { class: 'card', 'aria-labelledby': 'review-listings-title' },
    el('h2', { id: 'review-listings-title' }, i18n.t('market.admin.listings')), form, shown);
}

/** @param {ViewContext} ctx */
function topUpForm(ctx) {
  const { i18n } = ctx;
  const who = el('input', { type: 'text', id: uniqueId('who'), autocomplete: 'off' });
  const amount = el('input', { type: 'text', id: uniqueId('amount'), inputmode: 'decimal' });
  const currency = el('select', { id: uniqueId('currency') }, ...currencies.map((c) => el('option', { value: c }, c)));
  const notice = Notice.create('error');
  const done = Notice.create('success');
  const form = el('form', { class: 'card stack', 'aria-labelledby': 'topup-title' },
    el('h2', { id: 'topup-title' }, i18n.t('market.admin.topUp')),
    el('p', { class: 'muted' }, i18n.t('market.admin.topUpHint')),
    field(i18n.t('market.admin.person'), who, i18n.t('market.admin.personHint')),
    el('div', { class: 'market-row' }, field(i18n.t('market.admin.amount'), amount), field(i18n.t('market.filter.currency'), currency)),
    notice, done,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('market.admin.topUpSubmit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    done.clear();
    const minor = parseMajor(amount.value, currency.value);
    if (!minor) {
      notice.show(i18n.t('market.filter.badPrice'));
      amount.focus();
      return;
    }
    try {
      const hits = (await marketApi.users(who.value.trim())).items;
      const person = hits.find((h) => h.email === who.value.trim()) ?? (hits.length === 1 ? hits[0] : null);
      if (!person) {
        notice.show(i18n.t('market.admin.noSuchPerson'));
        return;
      }
      await marketApi.topUp(person.id, { amount: minor, currency: currency.value }, 'top-up by the operator');
      done.show(i18n.t('market.admin.toppedUp', { amount: formatMoney(i18n, minor, currency.value), name: person.name }));
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
    }
  });
  return form;
}

/** @param {ViewContext} ctx */
function payoutForm(ctx) {
  const { i18n } = ctx;
  const currency = el('select', { id: uniqueId('currency') }, ...currencies.map((c) => el('option', { value: c }, c)));
  const minimum = el('input', { type: 'text', id: uniqueId('minimum'), inputmode: 'decimal', value: '0' });
  const notice = Notice.create('error');
  const result = el('div', { role: 'status' });
  const form = el('form', { class: 'card stack', 'aria-labelledby': 'payout-title' },
    el('h2', { id: 'payout-title' }, i18n.t('market.admin.payouts')),
    el('div', { class: 'market-row' }, field(i18n.t('market.filter.currency'), currency), field(i18n.t('market.admin.minimum'), minimum)),
    notice, result,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('market.admin.runPayouts')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    const min = parseMajor(minimum.value, currency.value);
    if (min === null) {
      notice.show(i18n.t('market.filter.badPrice'));
      return;
    }
    try {
      const paid = (await marketApi.payouts(currency.value, min)).items;
      result.replaceChildren(el('p', {}, i18n.t('market.admin.paidCount', {
        count: paid.length, total: formatMoney(i18n, paid.reduce((sum, p) => sum + p.amount.amount, 0), currency.value),
      })));
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(...problemLines(ctx, error));
    }
  });
  return form;
}
