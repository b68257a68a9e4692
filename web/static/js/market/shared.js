// What the marketplace's screens share: their navigation, stars, category
// and language names, and the page frame.

import { marketApi, mediaURL } from './market-api.js';
import { el, uniqueId } from '../components/dom.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('./market-api.js').Category} Category */

/**
 * The marketplace's own navigation, with the current screen marked.
 * @param {ViewContext} ctx
 * @param {'browse' | 'wallet' | 'expert' | 'admin' | ''} current
 */
export function marketNav(ctx, current) {
  const { i18n, user } = ctx;
  /** @type {[string, string, 'browse' | 'wallet' | 'expert' | 'admin'][]} */
  const links = [[ '/market', i18n.t('market.nav.browse'), 'browse' ]];
  if (user) {
    links.push(['/market/wallet', i18n.t('market.nav.wallet'), 'wallet']);
    links.push(['/market/expert', i18n.t('market.nav.expert'), 'expert']);
    if (user.role === 'admin') links.push(['/market/admin', i18n.t('market.nav.admin'), 'admin']);
  }
  return el('nav', { class: 'market-nav', 'aria-label': i18n.t('market.nav.label') },
    ...links.map(([href, label, key]) => el('a', { href, 'aria-current': key === current ? 'page' : undefined }, label)));
}

/**
 * A rating as stars with its number for screen readers.
 * @param {I18n} i18n
 * @param {number | null} rating
 * @param {number} count
 */
export function stars(i18n, rating, count) {
  if (rating === null || count === 0) return el('span', { class: 'market-rating muted' }, i18n.t('market.noReviews'));
  const full = Math.round(rating);
  return el('span', { class: 'market-rating' },
    el('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(full) + '☆'.repeat(5 - full)),
    ' ',
    i18n.t(count === 1 ? 'market.ratingOfOne' : 'market.ratingOf', { rating: rating.toFixed(1), count }));
}

/**
 * A category's name in the reader's language where the app knows it.
 * @param {I18n} i18n
 * @param {string} key
 * @param {Category[]} [categories]
 */
export function categoryName(i18n, key, categories = []) {
  const known = `market.category.${key}`;
  if (i18n.has(known)) return i18n.t(known);
  return categories.find((category) => category.key === key)?.name ?? key;
}

/**
 * A language tag's name ("ko" → "Korean"), in the reader's language.
 * @param {I18n} i18n
 * @param {string} tag
 */
export function languageName(i18n, tag) {
  try {
    return new Intl.DisplayNames([i18n.locale], { type: 'language' }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/**
 * A status word (pending, approved…) in the reader's language.
 * @param {I18n} i18n
 * @param {string} status
 */
export function statusName(i18n, status) {
  const key = `market.status.${status}`;
  return i18n.has(key) ? i18n.t(key) : status;
}

/**
 * The frame of a marketplace screen: its navigation, then its content.
 * @param {ViewContext} ctx
 * @param {'browse' | 'wallet' | 'expert' | 'admin' | ''} current
 * @param {...(Node | null | false)} children
 */
export function marketPage(ctx, current, ...children) {
  return el('div', { class: 'market' }, marketNav(ctx, current), ...children);
}

/**
 * Comma-separated text as a list of trimmed, non-empty items.
 * @param {string} text
 */
export function splitList(text) {
  return text.split(',').map((part) => part.trim()).filter(Boolean);
}

/**
 * A labelled control built without the form-field component (selects,
 * textareas, numbers): label and control, and an optional hint.
 * @param {string} label
 * @param {HTMLElement} control with an id
 * @param {string} [hint]
 */
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return el('div', { class: 'field' },
    el('label', { for: control.id }, label),
    control,
    hint ? el('p', { class: 'field-hint', id: hintId }, hint) : null);
}

/**
 * A file picker that uploads a photo or an intro video at once and keeps
 * its id: value() is what the form sends ("" for none).
 * @param {I18n} i18n
 * @param {'photo' | 'video'} kind
 * @param {string} [current] the id already set
 * @returns {{ node: HTMLElement, value: () => string }}
 */
export function mediaPicker(i18n, kind, current = '') {
  let chosen = current;
  const inputId = uniqueId(kind);
  const input = /** @type {HTMLInputElement} */ (el('input', { type: 'file', id: inputId,
    accept: kind === 'photo' ? 'image/jpeg,image/png,image/webp' : 'video/mp4,video/webm' }));
  const status = el('p', { class: 'field-hint', role: 'status' });
  const preview = el('div', { class: 'market-media-preview' });
  const show = () => {
    preview.replaceChildren();
    if (!chosen) return;
    preview.append(kind === 'photo'
      ? el('img', { src: mediaURL(chosen), alt: i18n.t('market.media.photoAlt'), width: 96, height: 96 })
      : el('video', { src: mediaURL(chosen), controls: true, preload: 'metadata', width: 240 }));
  };
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    status.textContent = i18n.t('market.media.uploading');
    try {
      const media = await marketApi.upload(file);
      if (media.kind !== kind) {
        status.textContent = i18n.t(kind === 'photo' ? 'market.media.wantPhoto' : 'market.media.wantVideo');
        return;
      }
      chosen = media.id;
      status.textContent = i18n.t('market.media.uploaded');
      show();
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : String(error);
    }
  });
  show();
  return {
    node: el('div', { class: 'field' },
      el('label', { for: inputId }, i18n.t(kind === 'photo' ? 'market.media.photo' : 'market.media.video')),
      input, status, preview),
    value: () => chosen,
  };
}
