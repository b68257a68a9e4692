// The kiosk (/kiosk/{location}?queue=<key>[&idle=<seconds>]): a store's screen with one
// large Help button, the store's location sent with each request. Nobody
// signs in; the <parley-help> element does the rest and goes back to its
// start after each session, or after a while without a touch.

import { el } from '../components/dom.js';
import { createHelp } from './help-widget.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

/** @param {string} path */
export function isKioskPath(path) {
  return /^\/kiosk\/[^/]+\/?$/.test(path);
}

/** @type {{ key: string, element: HTMLElement } | null} */
let kept = null;

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function kioskView(ctx) {
  const raw = location.pathname.split('/')[2] ?? '';
  let place = raw;
  try {
    place = decodeURIComponent(raw);
  } catch {
    place = raw;
  }
  const queue = ctx.query.get('queue') ?? '';
  const idle = ctx.query.get('idle') ?? '';
  const key = `${place}\n${queue}\n${idle}\n${ctx.i18n.locale}`;
  if (!kept || kept.key !== key) {
    const help = createHelp({ kiosk: true, queue, location: place, lang: ctx.i18n.locale, 'idle-seconds': idle });
    const element = el('div', { class: 'kiosk' },
      el('h1', { class: 'kiosk-title', tabindex: -1 }, ctx.i18n.t('kiosk.title')),
      el('p', { class: 'kiosk-place' }, place),
      queue ? help : el('p', { class: 'kiosk-missing' }, ctx.i18n.t('kiosk.noQueue')));
    kept = { key, element };
  }
  return { element: kept.element, title: ctx.i18n.t('kiosk.title'), layout: 'app' };
}
