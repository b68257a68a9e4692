// /market/wallet: the signed-in person's money — in each currency the
// wallet (theirs to spend), what is held for sessions, and for experts
// what they earned and is payable, and what was paid out — and their
// sessions as learner or expert.

import { el } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { formatMoney } from './money.js';
import { marketPage, statusName } from './shared.js';
import { cardSection } from './stripe.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').Balance} Balance */
/** @typedef {import('./market-api.js').MarketSession} MarketSession */

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function walletView(ctx) {
  const { i18n } = ctx;
  const errors = Notice.create('error');
  const balances = el('div', { class: 'market-balances' }, el('p', { class: 'muted' }, i18n.t('app.loading')));
  const sessions = el('div', {}, el('p', { class: 'muted' }, i18n.t('app.loading')));
  // With Stripe, the card sessions are held on (nothing with the wallet).
  const card = el('div', {});
  const element = marketPage(ctx, 'wallet',
    el('section', { class: 'card', 'aria-labelledby': 'wallet-title' },
      el('h1', { id: 'wallet-title', tabindex: -1 }, i18n.t('market.wallet.title')),
      el('p', { class: 'lead' }, i18n.t('market.wallet.intro')),
      errors, balances),
    card,
    el('section', { class: 'card', 'aria-labelledby': 'my-sessions-title' },
      el('h2', { id: 'my-sessions-title' }, i18n.t('market.wallet.sessions')), sessions));

  cardSection(ctx).then((section) => {
    if (section) card.replaceChildren(section);
  }).catch((error) => {
    if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
  });
  marketApi.balance().then((page) => balances.replaceChildren(balanceList(ctx, page.items)))
    .catch((error) => {
      if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
    });
  marketApi.sessions().then(async (page) => sessions.replaceChildren(await sessionList(ctx, page.items)))
    .catch((error) => {
      if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
    });
  return { element, title: i18n.t('market.wallet.title') };
}

/**
 * The balances in each currency (an empty wallet says so, in dollars).
 * @param {ViewContext} ctx
 * @param {Balance[]} items
 */
export function balanceList(ctx, items) {
  const { i18n } = ctx;
  const list = items.length > 0 ? items : [{ currency: 'USD', wallet: 0, held: 0, payable: 0, paid_out: 0 }];
  return el('div', { class: 'market-balance-list' }, ...list.map((b) => {
    const row = (/** @type {string} */ label, /** @type {string} */ key, /** @type {number} */ amount) => [
      el('dt', {}, label),
      el('dd', { 'data-field': key, 'data-amount': String(amount) }, formatMoney(i18n, amount, b.currency)),
    ];
    const earned = b.payable > 0 || b.paid_out > 0;
    return el('dl', { class: 'market-balance', 'data-balance': b.currency, 'aria-label': b.currency },
      ...row(i18n.t('market.wallet.balance'), 'wallet', b.wallet),
      ...row(i18n.t('market.wallet.held'), 'held', b.held),
      ...(earned ? [...row(i18n.t('market.wallet.payable'), 'payable', b.payable), ...row(i18n.t('market.wallet.paidOut'), 'paid_out', b.paid_out)] : []));
  }));
}

/**
 * The person's sessions, newest first, with their listing's title.
 * @param {ViewContext} ctx
 * @param {MarketSession[]} items
 * @param {'learner' | 'expert' | 'any'} [as]
 */
export async function sessionList(ctx, items, as = 'any') {
  const { i18n, user } = ctx;
  const mine = items.filter((s) => as === 'any' || (as === 'learner' ? s.learner_id === user?.id : s.expert_id === user?.id));
  if (mine.length === 0) return el('p', { class: 'muted' }, i18n.t('market.wallet.noSessions'));
  /** @type {Map<string, string>} */
  const titles = new Map();
  await Promise.all([...new Set(mine.map((s) => s.listing_id))].map(async (listingId) => {
    try {
      titles.set(listingId, (await marketApi.listing(listingId)).title);
    } catch {
      // A listing taken down keeps its sessions; they show without a title.
    }
  }));
  return el('ul', { class: 'item-list' }, ...mine.map((s) => {
    const learner = s.learner_id === user?.id;
    const amount = learner ? s.charged : s.expert_share;
    return el('li', { class: 'item', 'data-session': s.id },
      el('div', { class: 'item-main' },
        el('a', { class: 'item-title', href: `/market/sessions/${encodeURIComponent(s.id)}` }, titles.get(s.listing_id) ?? i18n.t('market.session.title')),
        el('span', { class: 'item-meta' },
          i18n.t(learner ? 'market.wallet.asLearner' : 'market.wallet.asExpert'), ' · ',
          statusName(i18n, s.status), ' · ', i18n.formatDateTime(s.started_at ?? s.start_at))),
      s.status === 'completed' || s.charged > 0
        ? el('span', { class: 'market-amount' }, i18n.t(learner ? 'market.wallet.paid' : 'market.wallet.earned', { amount: formatMoney(i18n, amount, s.price.currency) }))
        : null);
  }));
}
