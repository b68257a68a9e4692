// The route of the messenger: / (the list) and /c/<id> (a conversation).

import { MessengerScreen } from './messenger-screen.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */

/** @type {WeakMap<MessengerSession, MessengerScreen>} */
const screens = new WeakMap();

/**
 * The conversation a path names, or null for the list.
 * @param {string} path
 * @returns {string | null}
 */
export function conversationFromPath(path) {
  const match = /^\/c\/([0-9A-Za-z-]{1,64})\/?$/.exec(path);
  return match ? match[1] : null;
}

/**
 * Whether path belongs to the messenger.
 * @param {string} path
 * @returns {boolean}
 */
export function isMessengerPath(path) {
  return path === '/' || conversationFromPath(path) !== null;
}

/**
 * @param {MessengerSession} session
 * @returns {MessengerScreen | undefined}
 */
export function screenOf(session) {
  return screens.get(session);
}

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function messengerView(ctx) {
  const session = ctx.messenger;
  if (!session) throw new Error('messengerView: nobody is signed in');
  let screen = screens.get(session);
  if (!screen) {
    screen = new MessengerScreen({ session, navigate: ctx.navigate });
    screens.set(session, screen);
  }
  screen.show(conversationFromPath(location.pathname));
  const shown = screen;
  return { element: screen.element, title: screen.title, layout: 'app', focus: () => shown.focus() };
}
