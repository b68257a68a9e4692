// Pieces the sign-in and create-account screens share.

import { Notice } from '../components/notice.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */

/**
 * The query to carry between the two screens: an invite code survives a
 * detour through sign-in.
 * @param {URLSearchParams} query
 * @returns {string}
 */
export function authLinkQuery(query) {
  const invite = query.get('invite');
  return invite ? `?${new URLSearchParams({ invite })}` : '';
}

/**
 * The one-time message the app left for this screen (signed out, session
 * ended), or an empty live region.
 * @param {ViewContext} ctx
 * @returns {Notice}
 */
export function flashNotice(ctx) {
  const notice = Notice.create('info');
  if (ctx.flash) notice.show(ctx.i18n.t(ctx.flash));
  return notice;
}
