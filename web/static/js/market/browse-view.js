// /market: browse and search the listings, signed in or not. The search
// lives in the URL's query (q, category, price_model, currency, min, max,
// language, rating, sort), so a search is a link and Back goes back.

import { el, uniqueId } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { marketApi } from './market-api.js';
import { parseMajor, priceShort } from './money.js';
import { categoryName, field, languageName, marketPage, stars } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./market-api.js').Listing} Listing */
/** @typedef {import('./market-api.js').Category} Category */
/** @typedef {import('./market-api.js').SearchQuery} SearchQuery */

const currencies = ['USD', 'EUR', 'GBP', 'KRW', 'JPY'];
const languages = ['en', 'ko', 'ja', 'zh', 'es', 'fr', 'de'];

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function browseView(ctx) {
  const { i18n, query } = ctx;
  const q = query.get('q') ?? '';
  const text = el('input', { type: 'search', id: uniqueId('market-q'), name: 'q', value: q, autocomplete: 'off' });
  const select = (/** @type {string} */ name, /** @type {[string, string][]} */ options) => {
    const current = query.get(name) ?? '';
    return el('select', { id: uniqueId(`market-${name}`), name },
      ...options.map(([value, label]) => el('option', { value, selected: value === current }, label)));
  };
  const category = select('category', [['', i18n.t('market.filter.anyCategory')]]);
  const model = select('price_model', [
    ['', i18n.t('market.filter.anyPrice')],
    ['free', i18n.t('market.model.free')],
    ['per_minute', i18n.t('market.model.per_minute')],
    ['per_hour', i18n.t('market.model.per_hour')],
    ['per_session', i18n.t('market.model.per_session')],
  ]);
  const currency = select('currency', currencies.map((code) => [code, code]));
  if (!query.get('currency')) currency.value = 'USD';
  const min = el('input', { type: 'text', inputmode: 'decimal', id: uniqueId('market-min'), name: 'min', value: query.get('min') ?? '', autocomplete: 'off' });
  const max = el('input', { type: 'text', inputmode: 'decimal', id: uniqueId('market-max'), name: 'max', value: query.get('max') ?? '', autocomplete: 'off' });
  const language = select('language', [['', i18n.t('market.filter.anyLanguage')], ...languages.map((tag) => /** @type {[string, string]} */ ([tag, languageName(i18n, tag)]))]);
  const rating = select('rating', [
    ['', i18n.t('market.filter.anyRating')], ['3', i18n.t('market.filter.ratingAtLeast', { rating: '3' })],
    ['4', i18n.t('market.filter.ratingAtLeast', { rating: '4' })], ['4.5', i18n.t('market.filter.ratingAtLeast', { rating: '4.5' })],
  ]);
  const sort = select('sort', [
    ['', i18n.t(q ? 'market.sort.relevance' : 'market.sort.newest')],
    ['rating', i18n.t('market.sort.rating')],
    ['price_asc', i18n.t('market.sort.priceLow')],
    ['price_desc', i18n.t('market.sort.priceHigh')],
  ]);

  const errors = Notice.create('error');
  const form = el('form', { class: 'market-search', role: 'search' },
    el('div', { class: 'market-search-row' },
      field(i18n.t('market.search.label'), text),
      el('button', { type: 'submit', class: 'button-primary' }, i18n.t('market.search.submit'))),
    el('details', { class: 'market-filters', open: ['category', 'price_model', 'min', 'max', 'language', 'rating', 'sort'].some((k) => query.get(k)) },
      el('summary', {}, i18n.t('market.filter.title')),
      el('div', { class: 'market-filter-grid' },
        field(i18n.t('market.filter.category'), category),
        field(i18n.t('market.filter.priceModel'), model),
        field(i18n.t('market.filter.currency'), currency),
        field(i18n.t('market.filter.min'), min),
        field(i18n.t('market.filter.max'), max),
        field(i18n.t('market.filter.language'), language),
        field(i18n.t('market.filter.rating'), rating),
        field(i18n.t('market.filter.sort'), sort))),
    errors);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    errors.clear();
    for (const box of [min, max]) {
      if (box.value.trim() !== '' && parseMajor(box.value, currency.value) === null) {
        errors.show(i18n.t('market.filter.badPrice'));
        box.focus();
        return;
      }
    }
    const params = new URLSearchParams();
    for (const control of [text, category, model, min, max, language, rating, sort]) {
      if (control.value.trim() !== '') params.set(control.name, control.value.trim());
    }
    if (params.has('min') || params.has('max')) params.set('currency', currency.value);
    ctx.navigate(`/market${params.size > 0 ? `?${params}` : ''}`);
  });

  const status = el('p', { class: 'muted', role: 'status' }, i18n.t('app.loading'));
  const results = el('ul', { class: 'market-results', 'aria-label': i18n.t('market.results') });
  const more = el('button', { type: 'button', class: 'button-secondary', hidden: true }, i18n.t('market.more'));

  /** @type {SearchQuery} */
  const search = { q, category: query.get('category') ?? '', price_model: query.get('price_model') ?? '', language: query.get('language') ?? '' };
  const cur = query.get('currency') ?? 'USD';
  const minPrice = parseMajor(query.get('min') ?? '', cur);
  const maxPrice = parseMajor(query.get('max') ?? '', cur);
  if (minPrice !== null || maxPrice !== null) {
    search.currency = cur;
    if (minPrice !== null) search.min_price = minPrice;
    if (maxPrice !== null) search.max_price = maxPrice;
  }
  if (query.get('rating')) search.min_rating = Number(query.get('rating'));
  const wantedSort = query.get('sort') ?? '';
  if (wantedSort) search.sort = wantedSort;

  /** @type {Category[]} */
  let categoryList = [];
  /** @param {string | undefined} cursor */
  const load = async (cursor) => {
    try {
      const page = await marketApi.search({ ...search, cursor });
      if (!cursor) results.replaceChildren();
      for (const listing of page.items) results.append(card(ctx, listing, categoryList));
      status.textContent = results.childElementCount === 0 ? i18n.t('market.noResults') : i18n.t(results.childElementCount === 1 ? 'market.resultCountOne' : 'market.resultCount', { count: results.childElementCount });
      more.hidden = !page.more;
      if (page.next) {
        const next = page.next;
        more.addEventListener('click', () => void load(next), { once: true });
      }
    } catch (error) {
      status.textContent = '';
      errors.show(describeError(error, i18n));
    }
  };
  void marketApi.categories().then((page) => {
    categoryList = page.items;
    const wanted = query.get('category') ?? '';
    for (const c of page.items) category.append(el('option', { value: c.key, selected: c.key === wanted }, categoryName(i18n, c.key, page.items)));
  }).catch(() => {}).finally(() => void load(undefined));

  const element = marketPage(ctx, 'browse',
    el('section', { class: 'card market-browse', 'aria-labelledby': 'market-title' },
      el('h1', { id: 'market-title', tabindex: -1 }, i18n.t('market.title')),
      el('p', { class: 'lead' }, i18n.t('market.intro')),
      form),
    el('section', { class: 'market-results-section', 'aria-label': i18n.t('market.results') }, status, results, more));
  element.classList.add('market-wide');
  return { element, title: i18n.t('market.title') };
}

/**
 * One listing in the results.
 * @param {ViewContext} ctx
 * @param {Listing} listing
 * @param {Category[]} categories
 */
function card(ctx, listing, categories) {
  const { i18n } = ctx;
  const titleId = uniqueId('listing');
  const item = el('li', { class: 'market-card', 'aria-labelledby': titleId, 'data-listing': listing.id },
    el('h2', { id: titleId, class: 'market-card-title' }, el('a', { href: `/market/listings/${encodeURIComponent(listing.id)}` }, listing.title)),
    el('p', { class: 'market-card-expert' }, i18n.t('market.byExpert', { name: listing.expert_name })),
    el('p', { class: 'market-card-price' }, priceShort(i18n, listing)),
    stars(i18n, listing.rating, listing.reviews),
    el('p', { class: 'market-card-meta' },
      categoryName(i18n, listing.category, categories), ' · ',
      listing.languages.map((tag) => languageName(i18n, tag)).join(', ')));
  if (listing.start_now) item.append(el('span', { class: 'badge market-badge-now' }, i18n.t('market.startNowBadge')));
  return item;
}
