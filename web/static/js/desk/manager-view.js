// Placeholder until the manager's screens land.
import { el } from '../components/dom.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function deskManagerView(ctx) {
  return { element: el('section', { class: 'card' }, el('h1', { tabindex: -1 }, ctx.i18n.t('desk.manage'))), title: ctx.i18n.t('desk.manage') };
}
