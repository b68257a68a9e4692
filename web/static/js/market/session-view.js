// /market/sessions/{id}: one session for its learner or expert. While it
// rings or goes on: joining its video call (the learner's camera off
// unless they turn it on), the running billable time and cost from the
// server's meter, "End session" and, for the learner of a per-minute or
// per-hour session, holding another block. A booked one: join (from ten
// minutes before) or cancel. Afterwards: what it came to — the charge,
// and for the expert the commission and their share — and for the learner
// a review (1–5 and words) and, within 72 hours, the money-back guarantee.

import { ApiError } from '../api.js';
import { append, el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { clock, formatMoney, priceRule } from './money.js';
import { marketCalls, pollMs } from './call-companion.js';
import { marketPage, statusName } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').MarketSession} MarketSession */
/** @typedef {import('./market-api.js').Listing} Listing */

/** How long after a session its learner may claim the money-back guarantee. */
const guaranteeMs = 72 * 3600 * 1000;

/**
 * @param {ViewContext} ctx
 * @param {string} id
 * @returns {View}
 */
export function sessionView(ctx, id) {
  const { i18n, user, messenger } = ctx;
  if (!user || !messenger) throw new Error('sessionView: nobody is signed in');
  const companion = marketCalls(messenger, ctx.navigate);
  const heading = el('h1', { id: 'session-title', tabindex: -1 }, i18n.t('market.session.title'));
  const status = el('p', { class: 'market-session-status', role: 'status' });
  const errors = Notice.create('error');
  const facts = el('dl', { class: 'market-facts' });
  const live = el('div', { class: 'market-live stack' });
  const after = el('div', { class: 'market-after stack' });
  const card = el('section', { class: 'card market-session', 'aria-labelledby': 'session-title' }, heading, status, errors, facts, live, after);
  const element = marketPage(ctx, '', card);

  /** @type {MarketSession | null} */
  let current = null;
  /** @type {Listing | null} */
  let listing = null;
  let autoJoined = false;
  /** @type {number | undefined} */
  let timer;
  let stateDrawn = '';

  const time = el('strong', { 'data-live': 'time' });
  const cost = el('strong', { 'data-live': 'cost' });
  const held = el('span', { class: 'muted' });
  const liveNotice = Notice.create('info');
  const join = el('button', { type: 'button', class: 'button-primary' }, i18n.t('market.session.join'));
  const end = el('button', { type: 'button', class: 'button-danger' }, i18n.t('market.session.end'));
  const extend = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('market.session.extend'));
  const cancel = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('market.session.cancel'));

  /** @param {() => Promise<unknown>} action */
  const act = async (action) => {
    errors.clear();
    try {
      await action();
    } catch (error) {
      if (!ctx.intercept(error)) errors.show(describeError(error, i18n));
    }
  };
  join.addEventListener('click', () => void act(async () => {
    let session = /** @type {MarketSession} */ (current);
    if (session.status === 'booked' || !session.call_id) session = await marketApi.sessionAction(session.id, 'join');
    show(session);
    await companion.join(session);
  }));
  end.addEventListener('click', () => void act(async () => show(await marketApi.sessionAction(id, 'end'))));
  extend.addEventListener('click', () => void act(async () => {
    show(await marketApi.extend(id, 15));
    liveNotice.show(i18n.t('market.session.extended'));
  }));
  cancel.addEventListener('click', () => void act(async () => show(await marketApi.sessionAction(id, 'cancel'))));

  /** @param {MarketSession} session */
  const show = (session) => {
    if (session.id !== id) return;
    current = session;
    const currency = session.price.currency;
    const learner = session.learner_id === user.id;
    card.dataset.status = session.status;
    status.textContent = statusName(i18n, session.status);
    time.textContent = clock(session.billable_seconds);
    cost.textContent = formatMoney(i18n, session.charged, currency);
    held.textContent = session.held > 0 ? i18n.t('market.session.ofHeld', { held: formatMoney(i18n, session.held, currency) }) : '';
    card.dataset.billable = String(session.billable_seconds);
    card.dataset.charged = String(session.charged);

    facts.replaceChildren(
      el('dt', {}, i18n.t('market.session.with')),
      el('dd', {}, learner ? listing?.expert_name ?? '' : i18n.t('market.session.aLearner')),
      el('dt', {}, i18n.t('market.listing.price')), el('dd', {}, priceRule(i18n, session)),
      el('dt', {}, i18n.t('market.session.when')), el('dd', {}, i18n.formatDateTime(session.started_at ?? session.start_at)));

    const going = session.status === 'ringing' || session.status === 'active';
    const inCall = companion.inCall(session);
    join.hidden = inCall || !(going || session.status === 'booked');
    end.hidden = !going;
    extend.hidden = !(going && learner && (session.price_model === 'per_minute' || session.price_model === 'per_hour'));
    cancel.hidden = session.status !== 'booked';
    const state = `${session.status}/${inCall}`;
    if (stateDrawn !== state) {
      stateDrawn = state;
      live.replaceChildren();
      if (going || session.status === 'booked') {
        append(live,
          going ? el('p', {}, i18n.t('market.session.billable'), ' ', time) : null,
          going ? el('p', {}, i18n.t('market.session.cost'), ' ', cost, ' ', held) : null,
          session.status === 'ringing' ? el('p', { class: 'muted' }, i18n.t(learner ? 'market.session.ringingLearner' : 'market.session.ringingExpert')) : null,
          session.status === 'booked' ? el('p', { class: 'muted' }, i18n.t('market.session.bookedHint')) : null,
          learner && going ? el('p', { class: 'muted' }, i18n.t('market.session.cameraHint')) : null,
          liveNotice,
          el('div', { class: 'market-actions' }, join, end, extend, cancel));
      }
      drawAfter(ctx, session, listing, after);
    }
    if (going && learner && !autoJoined && !inCall && session.call_id) {
      autoJoined = true;
      void act(() => companion.join(session));
    }
    const poll = going || session.status === 'booked';
    if (poll && timer === undefined) {
      timer = window.setInterval(() => {
        if (!element.isConnected) {
          window.clearInterval(timer);
          return;
        }
        marketApi.session(id).then(show).catch(() => {});
      }, pollMs);
    } else if (!poll && timer !== undefined) {
      window.clearInterval(timer);
      timer = undefined;
    }
  };

  const unlisten = companion.onSession((session) => {
    if (!element.isConnected && current) {
      unlisten();
      return;
    }
    show(session);
  });
  const unlistenCalls = messenger.calls.onChange(() => {
    if (!element.isConnected) {
      unlistenCalls();
      return;
    }
    stateDrawn = '';
    if (current) show(current);
  });

  marketApi.session(id)
    .then(async (session) => {
      listing = await marketApi.listing(session.listing_id).catch(() => null);
      heading.textContent = listing ? i18n.t('market.session.titleOf', { title: listing.title }) : i18n.t('market.session.title');
      show(session);
    })
    .catch((error) => {
      if (ctx.intercept(error)) return;
      errors.show(error instanceof ApiError && error.status === 404 ? i18n.t('market.session.notFound') : describeError(error, i18n));
    });
  return { element, title: i18n.t('market.session.title') };
}

/**
 * What a finished session came to, and the learner's review and claim.
 * @param {ViewContext} ctx
 * @param {MarketSession} session
 * @param {Listing | null} listing
 * @param {HTMLElement} box
 */
function drawAfter(ctx, session, listing, box) {
  const { i18n, user } = ctx;
  box.replaceChildren();
  if (session.status !== 'completed' && session.status !== 'cancelled' && session.status !== 'missed') return;
  const currency = session.price.currency;
  const learner = session.learner_id === user?.id;
  const m = (/** @type {number} */ amount) => formatMoney(i18n, amount, currency);
  const lines = el('dl', { class: 'market-facts market-charge' });
  if (session.status === 'completed') {
    lines.append(
      el('dt', {}, i18n.t('market.session.billableTotal')), el('dd', { 'data-after': 'billable' }, clock(session.billable_seconds)),
      el('dt', {}, i18n.t('market.session.charged')), el('dd', { 'data-after': 'charged' }, m(session.charged)));
  } else if (session.cancel_fee > 0) {
    lines.append(el('dt', {}, i18n.t('market.session.cancelFee')), el('dd', {}, m(session.cancel_fee)));
  }
  if (!learner && session.charged > 0) {
    lines.append(
      el('dt', {}, i18n.t('market.session.commission', { rate: String(session.commission_bps / 100) })), el('dd', { 'data-after': 'commission' }, m(session.commission)),
      el('dt', {}, i18n.t('market.session.yourShare')), el('dd', { 'data-after': 'share' }, m(session.expert_share)));
  }
  if (session.refunded > 0) lines.append(el('dt', {}, i18n.t('market.session.refunded')), el('dd', {}, m(session.refunded)));
  box.append(el('h2', {}, i18n.t('market.session.summary')), lines);
  if (session.status === 'missed' && learner) {
    box.append(el('p', {}, i18n.t('market.session.missed'), ' ',
      el('a', { href: `/market/listings/${encodeURIComponent(session.listing_id)}` }, i18n.t('market.session.bookInstead'))));
  }
  if (session.status !== 'completed') return;
  if (learner && session.billable_seconds > 0) box.append(reviewForm(ctx, session, listing));
  const endedAt = session.ended_at ? Date.parse(session.ended_at) : NaN;
  if (learner && session.charged > 0 && Date.now() - endedAt < guaranteeMs) box.append(claimForm(ctx, session, endedAt));
}

/**
 * @param {ViewContext} ctx
 * @param {MarketSession} session
 * @param {Listing | null} listing
 */
function reviewForm(ctx, session, listing) {
  const { i18n } = ctx;
  const notice = Notice.create('error');
  const done = Notice.create('success');
  const name = uniqueId('score');
  const scores = el('fieldset', { class: 'market-score' },
    el('legend', {}, i18n.t('market.review.rating')),
    ...[1, 2, 3, 4, 5].map((n) => {
      const inputId = uniqueId('score');
      return el('span', { class: 'market-score-option' },
        el('input', { type: 'radio', id: inputId, name, value: String(n), checked: n === 5 }),
        el('label', { for: inputId }, i18n.t(n === 1 ? 'market.review.star' : 'market.review.stars', { count: n })));
    }));
  const textId = uniqueId('review');
  const text = el('textarea', { id: textId, rows: 4, maxlength: 5000 });
  const submit = el('button', { type: 'submit', class: 'button-primary' }, i18n.t('market.review.submit'));
  const form = el('form', { class: 'market-review-form stack', 'aria-labelledby': `${textId}-title` },
    el('h2', { id: `${textId}-title` }, i18n.t('market.review.title')),
    scores,
    el('div', { class: 'field' }, el('label', { for: textId }, i18n.t('market.review.text')), text),
    notice, submit);
  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    notice.clear();
    const checked = form.querySelector(`input[name="${name}"]:checked`);
    const score = checked instanceof HTMLInputElement ? Number(checked.value) : 5;
    try {
      await marketApi.review(session.id, score, text.value);
      form.replaceWith(thanks());
    } catch (error) {
      if (ctx.intercept(error)) return;
      if (error instanceof ApiError && error.problem.type?.endsWith('already-reviewed')) form.replaceWith(thanks(true));
      else notice.show(describeError(error, i18n));
    } finally {
      busy = false;
    }
  });
  const thanks = (already = false) => {
    done.show(i18n.t(already ? 'market.review.already' : 'market.review.thanks'));
    return el('div', { class: 'stack' }, done,
      listing ? el('p', {}, el('a', { href: `/market/listings/${encodeURIComponent(listing.id)}` }, i18n.t('market.review.seeListing'))) : null);
  };
  return form;
}

/**
 * The money-back guarantee: a claim the operator reviews.
 * @param {ViewContext} ctx
 * @param {MarketSession} session
 * @param {number} endedAt
 */
function claimForm(ctx, session, endedAt) {
  const { i18n } = ctx;
  const until = new Date(endedAt + guaranteeMs).toISOString();
  const notice = Notice.create('error');
  const reasonId = uniqueId('claim');
  const reason = el('textarea', { id: reasonId, rows: 3, maxlength: 2000, required: true });
  const form = el('form', { class: 'stack' },
    el('p', {}, i18n.t('market.claim.explain', { until: i18n.formatDateTime(until) })),
    el('div', { class: 'field' }, el('label', { for: reasonId }, i18n.t('market.claim.reason')), reason),
    notice,
    el('button', { type: 'submit', class: 'button-secondary' }, i18n.t('market.claim.submit')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    notice.clear();
    if (reason.value.trim() === '') {
      notice.show(i18n.t('validation.required'));
      reason.focus();
      return;
    }
    try {
      await marketApi.claim(session.id, reason.value);
      const done = Notice.create('success');
      form.replaceWith(done);
      done.show(i18n.t('market.claim.sent'));
    } catch (error) {
      if (!ctx.intercept(error)) notice.show(describeError(error, i18n));
    }
  });
  return el('details', { class: 'market-claim' }, el('summary', {}, i18n.t('market.claim.link')), form);
}
