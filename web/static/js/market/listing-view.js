// /market/listings/{id}: one listing — what it is, its price and rules in
// plain words, the expert, the reviews, the next free times in the
// reader's own time zone — and booking a time or starting now. A wallet
// too small for what the session holds (402) shows the balance and the
// hold; a time just taken by someone else (409) asks for another.

import { ApiError } from '../api.js';
import { el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi, mediaURL } from './market-api.js';
import { formatMoney, holdFor, money, priceRule } from './money.js';
import { categoryName, languageName, marketPage, stars } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').Listing} Listing */
/** @typedef {import('./market-api.js').Review} Review */

/**
 * @param {ViewContext} ctx
 * @param {string} id
 * @returns {View}
 */
export function listingView(ctx, id) {
  const { i18n } = ctx;
  const heading = el('h1', { id: 'listing-title', tabindex: -1 }, i18n.t('app.loading'));
  const body = el('div', { class: 'stack' });
  const errors = Notice.create('error');
  const element = marketPage(ctx, 'browse',
    el('article', { class: 'card market-listing', 'aria-labelledby': 'listing-title' }, heading, errors, body));
  element.classList.add('market-wide');
  const view = { element, title: i18n.t('market.listing.title') };

  Promise.all([marketApi.listing(id), marketApi.reviews(id).catch(() => ({ items: [] })), marketApi.categories().catch(() => ({ items: [] }))])
    .then(async ([listing, reviews, categories]) => {
      heading.textContent = listing.title;
      document.title = `${listing.title} · ${i18n.t('app.name')}`;
      const expert = await marketApi.expert(listing.expert_id).catch(() => null);
      body.replaceChildren(...details(ctx, listing, expert?.headline ?? '', categories.items),
        bookingSection(ctx, listing),
        reviewsSection(ctx, listing, reviews.items));
    })
    .catch((error) => {
      heading.textContent = i18n.t('market.listing.title');
      errors.show(error instanceof ApiError && error.status === 404 ? i18n.t('market.listing.notFound') : describeError(error, i18n));
    });
  return view;
}

/**
 * @param {ViewContext} ctx
 * @param {Listing} listing
 * @param {string} headline
 * @param {import('./market-api.js').Category[]} categories
 */
function details(ctx, listing, headline, categories) {
  const { i18n } = ctx;
  const length = listing.session_minutes === null
    ? i18n.t('market.listing.openEnded')
    : i18n.t('market.listing.length', { minutes: listing.session_minutes });
  const hold = holdFor(listing);
  return [
    el('p', { class: 'market-listing-expert' }, i18n.t('market.byExpert', { name: listing.expert_name }), headline ? ` — ${headline}` : ''),
    stars(i18n, listing.rating, listing.reviews),
    el('dl', { class: 'market-facts' },
      el('dt', {}, i18n.t('market.listing.price')), el('dd', { class: 'market-price-rule' }, priceRule(i18n, listing)),
      el('dt', {}, i18n.t('market.listing.sessionLength')), el('dd', {}, length),
      el('dt', {}, i18n.t('market.listing.cancellation')), el('dd', {}, i18n.t(/** @type {const} */ (`market.policy.${listing.cancellation}`))),
      el('dt', {}, i18n.t('market.filter.category')), el('dd', {}, categoryName(i18n, listing.category, categories)),
      el('dt', {}, i18n.t('market.filter.language')), el('dd', {}, listing.languages.map((tag) => languageName(i18n, tag)).join(', '))),
    hold.amount > 0
      ? el('p', { class: 'muted market-hold-note' }, i18n.t('market.listing.holdNote', { hold: formatMoney(i18n, hold.amount, listing.price.currency), minutes: hold.minutes }))
      : null,
    listing.intro_video
      ? el('video', { class: 'market-intro', src: mediaURL(listing.intro_video), controls: true, preload: 'metadata',
        'aria-label': i18n.t('market.media.video') })
      : null,
    el('p', { class: 'market-description' }, listing.description),
  ].filter((node) => node !== null);
}

/**
 * Start now, the next free times, and booking one.
 * @param {ViewContext} ctx
 * @param {Listing} listing
 */
function bookingSection(ctx, listing) {
  const { i18n, user } = ctx;
  const section = el('section', { class: 'market-booking', 'aria-labelledby': 'booking-title' },
    el('h2', { id: 'booking-title' }, i18n.t('market.booking.title')));
  if (!user) {
    section.append(el('p', {}, el('a', { href: `/signin` }, i18n.t('market.booking.signIn'))));
    return section;
  }
  if (user.id === listing.expert_id) {
    section.append(el('p', { class: 'muted' }, i18n.t('market.booking.own')));
    return section;
  }
  const problem = el('div', { class: 'market-problem', role: 'alert', hidden: true });
  const notice = Notice.create('info');
  /** @type {string | null} */
  let chosen = null;
  let busy = false;

  /** @param {() => Promise<import('./market-api.js').MarketSession>} act */
  const book = async (act) => {
    if (busy) return;
    busy = true;
    problem.hidden = true;
    problem.replaceChildren();
    notice.clear();
    try {
      const session = await act();
      ctx.navigate(`/market/sessions/${encodeURIComponent(session.id)}`);
    } catch (error) {
      if (ctx.intercept(error)) return;
      await showProblem(ctx, listing, error, problem);
      if (error instanceof ApiError && error.problem.type?.endsWith('slot-taken')) void loadSlots();
    } finally {
      busy = false;
    }
  };

  if (listing.start_now) {
    const now = el('button', { type: 'button', class: 'button-primary market-start-now' }, i18n.t('market.booking.startNow'));
    now.addEventListener('click', () => void book(() => marketApi.book({ listing: listing.id, now: true })));
    section.append(el('p', { class: 'muted' }, i18n.t('market.booking.startNowHint')), now);
  }

  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const slotsId = uniqueId('slots');
  const list = el('div', { class: 'market-slots', role: 'group', 'aria-labelledby': slotsId });
  const bookButton = el('button', { type: 'button', class: 'button-primary', disabled: true }, i18n.t('market.booking.book'));
  bookButton.addEventListener('click', () => {
    const start = chosen;
    if (start) void book(() => marketApi.book({ listing: listing.id, start }));
  });
  const format = new Intl.DateTimeFormat(i18n.locale, { weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
  const loadSlots = async () => {
    chosen = null;
    bookButton.disabled = true;
    try {
      const slots = await marketApi.slots(listing.id);
      bookButton.hidden = slots.items.length === 0;
      if (slots.items.length === 0) {
        list.replaceChildren(el('p', { class: 'muted' }, i18n.t('market.booking.noSlots')));
        return;
      }
      list.replaceChildren(...slots.items.map((start) => {
        const button = el('button', { type: 'button', class: 'market-slot', 'aria-pressed': 'false', 'data-start': start }, format.format(new Date(start)));
        button.addEventListener('click', () => {
          chosen = start;
          for (const other of list.querySelectorAll('button')) other.setAttribute('aria-pressed', String(other === button));
          bookButton.disabled = false;
          bookButton.textContent = i18n.t('market.booking.bookAt', { time: format.format(new Date(start)) });
        });
        return button;
      }));
    } catch (error) {
      list.replaceChildren(el('p', { class: 'muted' }, describeError(error, i18n)));
    }
  };
  void loadSlots();
  section.append(
    el('h3', { id: slotsId }, i18n.t('market.booking.nextTimes')),
    el('p', { class: 'muted' }, i18n.t('market.booking.inZone', { zone })),
    list, bookButton, notice, problem);
  return section;
}

/**
 * Says why booking failed: the wallet and the hold for 402, "pick another
 * time" for 409 slot-taken, the server's words otherwise.
 * @param {ViewContext} ctx
 * @param {Listing} listing
 * @param {unknown} error
 * @param {HTMLElement} box
 */
async function showProblem(ctx, listing, error, box) {
  const { i18n } = ctx;
  box.hidden = false;
  const type = error instanceof ApiError ? error.problem.type ?? '' : '';
  if (error instanceof ApiError && error.status === 402) {
    const problem = /** @type {import('./market-api.js').PaymentProblem} */ (error.problem);
    if (type.endsWith('authentication-required') && problem.authentication_url) {
      // The card's bank asks the learner to confirm: its page, then back
      // to /market/bookings/{attempt}/return, which completes the booking.
      box.className = 'market-problem notice notice-info';
      box.replaceChildren(el('p', {}, i18n.t('market.payment.authenticate')));
      window.location.assign(problem.authentication_url);
      return;
    }
    const fallback = holdFor(listing);
    const hold = problem.hold ?? { amount: fallback.amount, currency: listing.price.currency };
    box.className = 'market-problem notice notice-error';
    if (problem.reason === 'no_card' || problem.reason === 'card_declined') {
      box.replaceChildren(
        el('p', { class: 'market-problem-title' }, i18n.t(problem.reason === 'no_card' ? 'market.payment.noCard' : 'market.payment.declined')),
        problem.reason === 'card_declined' && problem.detail ? el('p', {}, problem.detail) : '',
        el('p', {}, i18n.t('market.payment.cardHolds', { hold: formatMoney(i18n, hold.amount, hold.currency) })),
        el('p', {}, el('a', { href: '/market/wallet' }, i18n.t(problem.reason === 'no_card' ? 'market.card.add' : 'market.card.replace'))));
      return;
    }
    let wallet = problem.balance;
    if (!wallet) {
      try {
        const amount = (await marketApi.balance()).items.find((b) => b.currency === hold.currency)?.wallet ?? 0;
        wallet = { amount, currency: hold.currency };
      } catch {
        wallet = { amount: 0, currency: hold.currency };
      }
    }
    box.replaceChildren(
      el('p', { class: 'market-problem-title' }, i18n.t('market.payment.title')),
      el('p', { 'data-field': 'balance', 'data-amount': String(wallet.amount) }, i18n.t('market.payment.wallet', { wallet: formatMoney(i18n, wallet.amount, wallet.currency) })),
      el('p', { 'data-field': 'hold', 'data-amount': String(hold.amount) }, i18n.t('market.payment.holds', { hold: formatMoney(i18n, hold.amount, hold.currency), minutes: fallback.minutes, price: money(i18n, listing.price) })),
      el('p', {}, el('a', { href: '/market/wallet' }, i18n.t('market.payment.toWallet'))));
    return;
  }
  box.className = 'market-problem notice notice-error';
  if (type.endsWith('slot-taken')) {
    box.replaceChildren(el('p', {}, i18n.t('market.booking.slotTaken')));
    return;
  }
  box.replaceChildren(el('p', {}, describeError(error, i18n)));
}

/**
 * @param {ViewContext} ctx
 * @param {Listing} listing
 * @param {Review[]} reviews
 */
function reviewsSection(ctx, listing, reviews) {
  const { i18n } = ctx;
  const list = el('ul', { class: 'market-reviews' },
    ...reviews.map((review) => el('li', { class: 'market-review', 'data-review': review.id },
      el('p', { class: 'market-review-score' },
        el('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(review.score) + '☆'.repeat(5 - review.score)), ' ',
        i18n.t('market.review.score', { score: review.score }), ' · ', i18n.formatDateTime(review.created_at)),
      review.body ? el('p', { class: 'market-review-body' }, review.body) : null,
      review.reply ? el('p', { class: 'market-review-reply' }, i18n.t('market.review.reply', { name: listing.expert_name }), ' ', review.reply) : null)));
  return el('section', { class: 'market-reviews-section', 'aria-labelledby': 'reviews-title' },
    el('h2', { id: 'reviews-title' }, i18n.t('market.reviews.title', { count: reviews.length })),
    reviews.length === 0 ? el('p', { class: 'muted' }, i18n.t('market.noReviews')) : list);
}
