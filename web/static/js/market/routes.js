// The marketplace's routes: browsing and listings for anyone, the rest
// for people signed in (signed out, those paths keep their URL for after
// signing in).

import { adminView } from './admin-view.js';
import { browseView } from './browse-view.js';
import { expertView } from './expert-view.js';
import { listingView } from './listing-view.js';
import { sessionView } from './session-view.js';
import { bookingReturnView } from './stripe.js';
import { walletView } from './wallet-view.js';

/** @typedef {import('../app.js').ViewFactory} ViewFactory */

/**
 * The screen for a /market path, or null when it is not one (or needs
 * someone signed in).
 * @param {string} path
 * @param {boolean} signedIn
 * @returns {ViewFactory | null}
 */
export function marketRoute(path, signedIn) {
  if (path === '/market' || path === '/market/') return browseView;
  const listing = /^\/market\/listings\/([^/]+)$/.exec(path);
  if (listing) {
    const id = decodeURIComponent(listing[1]);
    return (ctx) => listingView(ctx, id);
  }
  if (!signedIn) return null;
  const session = /^\/market\/sessions\/([^/]+)$/.exec(path);
  if (session) {
    const id = decodeURIComponent(session[1]);
    return (ctx) => sessionView(ctx, id);
  }
  const back = /^\/market\/bookings\/([^/]+)\/return$/.exec(path);
  if (back) {
    const attempt = decodeURIComponent(back[1]);
    return (ctx) => bookingReturnView(ctx, attempt);
  }
  if (path === '/market/wallet') return walletView;
  if (path === '/market/expert') return expertView;
  if (path === '/market/admin') return adminView;
  return null;
}
