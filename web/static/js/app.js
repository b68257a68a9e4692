// The app shell: it learns who is signed in, picks the screen for the URL,
// and redraws it on navigation, on signing in or out, and when the
// language changes. Screens are functions of a ViewContext; each area has
// a folder (auth/, account/, messenger/) and a route here. While someone
// is signed in, the messenger's session (its realtime connection) lives
// here, across screens.

import { ApiError } from './api.js';
import { el, replaceChildren } from './components/dom.js';
import { LanguagePicker } from './components/language-picker.js';
import { describeError } from './components/form-controller.js';
import { signInView } from './auth/sign-in.js';
import { signUpView } from './auth/sign-up.js';
import { accountView } from './account/account-view.js';
import { userMenu } from './components/user-menu.js';
import { MessengerSession } from './messenger/session.js';
import { isMessengerPath, messengerView } from './messenger/messenger-view.js';
import { deskConsoleView } from './desk/console-view.js';
import { deskManagerView } from './desk/manager-view.js';
import { isKioskPath, kioskView } from './desk/kiosk-view.js';
import { marketRoute } from './market/routes.js';
import { marketCalls } from './market/call-companion.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./api.js').Config} Config */
/** @typedef {import('./api.js').User} User */
/** @typedef {import('./i18n.js').I18n} I18n */
/** @typedef {import('./i18n.js').MessageKey} MessageKey */

/**
 * What a screen gets to draw itself and to act.
 * @typedef {Object} ViewContext
 * @property {Api} api
 * @property {I18n} i18n
 * @property {Config} config
 * @property {User | null} user
 * @property {MessengerSession | null} messenger the signed-in person's messenger
 * @property {URLSearchParams} query the current URL's query
 * @property {MessageKey | null} flash a one-time message for this screen
 * @property {(path: string) => void} navigate
 * @property {(user: User) => void} signedIn
 * @property {(flash: MessageKey) => void} signedOut
 * @property {() => Promise<void>} signOut signs out on purpose (rejects when
 *   the server could not be told: the person is still signed in)
 * @property {(error: unknown) => boolean} intercept
 *   takes over errors that concern the whole app (the session ended);
 *   true when it did
 */

/**
 * @typedef {Object} View
 * @property {HTMLElement} element the same element again when the screen
 *   keeps its state between routes (it is then not re-inserted)
 * @property {string} title for the document's title
 * @property {'page' | 'app'} [layout] app: the screen fills the window
 * @property {() => void} [focus] where the focus goes after navigating;
 *   the screen's h1 unless told
 */

/** @typedef {(ctx: ViewContext) => View} ViewFactory */

/** The screens for people who are not signed in. */
const authPaths = new Set(['/signin', '/signup']);

export class App {
  /** @type {Api} */
  #api;
  /** @type {I18n} */
  #i18n;
  /** @type {HTMLElement} */
  #main;
  /** @type {HTMLElement | null} */
  #footer;
  /** @type {HTMLElement | null} */
  #header;
  /** @type {HTMLElement | null} */
  #menu = null;
  /** A way in for visitors browsing the public pages (the marketplace). */
  #signInLink = el('a', { href: '/signin', class: 'header-signin', 'data-i18n': 'auth.signIn.title' });
  /** @type {Storage | null} */
  #storage;
  /** @type {MessengerSession | null} */
  #messenger = null;
  /**
   * True while a sign-out is under way: the server then closes the live
   * connection for the ended session, which must not read as "your
   * session ended".
   * @type {boolean}
   */
  #signingOut = false;
  /** @type {Config | null} */
  #config = null;
  /** @type {User | null} */
  #user = null;
  /** @type {MessageKey | null} */
  #flash = null;

  /**
   * @param {{ api: Api, i18n: I18n, main: HTMLElement, header: HTMLElement | null, footer: HTMLElement | null, storage: Storage | null }} parts
   *   main receives the screens; the header gets the language switcher
   *   and the person's menu; storage keeps messages not sent yet.
   */
  constructor({ api, i18n, main, header, footer, storage }) {
    this.#api = api;
    this.#i18n = i18n;
    this.#main = main;
    this.#footer = footer;
    this.#header = header;
    this.#storage = storage;
    header?.append(LanguagePicker.create(i18n));
    header?.prepend(this.#signInLink);
  }

  async start() {
    this.#translateShell();
    this.#i18n.onChange(() => {
      this.#translateShell();
      // The switcher keeps the focus; the screen redraws around it.
      if (this.#config) this.#render(false);
    });
    window.addEventListener('popstate', () => {
      this.#flash = null;
      if (this.#config) this.#render(true);
    });
    document.addEventListener('click', (event) => this.#followLink(event));
    await this.#load();
  }

  async #load() {
    try {
      const [config, user] = await Promise.all([this.#api.config(), this.#api.me()]);
      this.#config = config;
      this.#user = user;
    } catch (error) {
      this.#showLoadFailure(error);
      return;
    }
    if (this.#user) this.#startMessenger(this.#user);
    this.#translateShell();
    this.#render(false);
  }

  /**
   * Goes to path inside the app, adding a history entry.
   * @param {string} path
   */
  navigate(path) {
    this.#flash = null;
    history.pushState(null, '', path);
    this.#render(true);
  }

  /**
   * Draws the screen for the current URL.
   * @param {boolean} moveFocus whether to put the focus on the new screen's
   *   heading, as after a navigation; not on first load or a redraw
   */
  #render(moveFocus) {
    const config = this.#config;
    if (!config) return;
    const factory = this.#route(config);
    // Away from the messenger no conversation is on screen, so new
    // messages are notified about.
    if (factory !== messengerView) this.#messenger?.setActive(null);
    /** @type {ViewContext} */
    const ctx = {
      api: this.#api,
      i18n: this.#i18n,
      config,
      user: this.#user,
      messenger: this.#messenger,
      query: new URLSearchParams(location.search),
      flash: this.#flash,
      navigate: (path) => this.navigate(path),
      signedIn: (user) => this.#signedIn(user),
      signedOut: (flash) => this.#signedOut(flash),
      signOut: () => this.#logout(),
      intercept: (error) => this.#intercept(error),
    };
    // Not on the sign-in screens themselves, nor on a store's kiosk.
    this.#signInLink.hidden = this.#user !== null || factory === signInView || factory === signUpView || factory === kioskView;
    const view = factory(ctx);
    if (this.#main.firstElementChild !== view.element || this.#main.childElementCount !== 1) {
      replaceChildren(this.#main, view.element);
    }
    document.body.dataset.layout = view.layout ?? 'page';
    document.title = `${view.title} · ${this.#i18n.t('app.name')}`;
    if (!moveFocus) return;
    if (view.focus) view.focus();
    else view.element.querySelector('h1')?.focus();
  }

  /**
   * Picks the screen for location, tidying the URL where it names a screen
   * the person cannot see now.
   * @param {Config} config
   * @returns {ViewFactory}
   */
  #route(config) {
    const path = location.pathname;
    // The kiosk needs nobody signed in.
    if (isKioskPath(path)) return kioskView;
    // The marketplace: browsing for anyone, the rest once signed in.
    const market = marketRoute(path, this.#user !== null);
    if (market) return market;
    if (this.#user) {
      if (path === '/account') return accountView;
      if (path === '/desk') return deskConsoleView;
      if (path === '/desk/manage') return deskManagerView;
      if (!isMessengerPath(path)) history.replaceState(null, '', '/');
      return messengerView;
    }
    // A fresh installation starts by creating its operator's account.
    if (config.setup) {
      if (path !== '/signup') history.replaceState(null, '', '/signup');
      return signUpView;
    }
    const signupAllowed = config.signup_mode !== 'closed';
    if (path === '/signup') {
      if (signupAllowed) return signUpView;
      history.replaceState(null, '', `/signin${location.search}`);
      return signInView;
    }
    // An invitation link may point at the root.
    if (path === '/' && signupAllowed && new URLSearchParams(location.search).has('invite')) return signUpView;
    // Any other path keeps its URL, so a deep link opens once signed in.
    return signInView;
  }

  /** @param {User} user */
  #signedIn(user) {
    this.#user = user;
    if (this.#config) this.#config.setup = false;
    this.#flash = null;
    this.#startMessenger(user);
    if (authPaths.has(location.pathname)) history.replaceState(null, '', '/');
    this.#render(true);
  }

  /** @param {MessageKey} flash */
  #signedOut(flash) {
    if (!this.#user) return;
    // Messages not sent yet stay for the same person's next sign-in,
    // unless they signed out on purpose: then nothing of theirs stays.
    if (flash === 'auth.signedOut') this.#messenger?.outbox.clear();
    this.#stopMessenger();
    this.#user = null;
    this.#flash = flash;
    history.pushState(null, '', '/signin');
    this.#render(true);
  }

  /** @param {User} user */
  #startMessenger(user) {
    this.#stopMessenger();
    this.#messenger = new MessengerSession({
      api: this.#api,
      i18n: this.#i18n,
      user,
      storage: this.#storage,
      sessionEnded: () => {
        if (!this.#signingOut) this.#signedOut('auth.sessionEnded');
      },
      navigate: (path) => this.navigate(path),
    });
    void this.#messenger.start();
    // A marketplace session's call shows its meter in the call screen.
    marketCalls(this.#messenger, (path) => this.navigate(path));
    const desk = { agent: false };
    fetch('/api/v1/desk/agents/me', { credentials: 'same-origin' }).then((r) => { desk.agent = r.ok; }).catch(() => {});
    this.#menu = userMenu({ i18n: this.#i18n, user, signOut: () => void this.#signOut(), desk: () => desk.agent || user.role === 'admin' });
    this.#header?.prepend(this.#menu);
  }

  #stopMessenger() {
    this.#messenger?.stop();
    this.#messenger = null;
    this.#menu?.remove();
    this.#menu = null;
  }

  async #signOut() {
    try {
      await this.#logout();
    } catch (error) {
      window.alert(describeError(error, this.#i18n));
    }
  }

  /**
   * Signs out on purpose, from the menu or the account screen. While the
   * server is told, the socket's close (the session ended) and 401s are the
   * expected end, not news: the person sees "You have signed out".
   */
  async #logout() {
    this.#signingOut = true;
    try {
      await this.#api.logout();
    } catch (error) {
      // Signed out already is as good as signing out now; anything else
      // (no connection) leaves the person signed in.
      if (!(error instanceof ApiError && error.status === 401)) {
        this.#signingOut = false;
        throw error;
      }
    }
    this.#signedOut('auth.signedOut');
    this.#signingOut = false;
  }

  /**
   * @param {unknown} error
   * @returns {boolean}
   */
  #intercept(error) {
    if (error instanceof ApiError && error.status === 401 && this.#user) {
      // During our own sign-out a 401 is the expected end, not news.
      if (!this.#signingOut) this.#signedOut('auth.sessionEnded');
      return true;
    }
    return false;
  }

  /**
   * Follows same-origin links inside the app without reloading the page.
   * @param {MouseEvent} event
   */
  #followLink(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
      || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest('a') : null;
    if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
    if (link.pathname.startsWith('/api/') || link.hash && link.pathname === location.pathname) return;
    event.preventDefault();
    this.navigate(link.pathname + link.search);
  }

  /** Translates the page's fixed text and states its language. */
  #translateShell() {
    const i18n = this.#i18n;
    document.documentElement.lang = i18n.locale;
    for (const node of document.querySelectorAll('[data-i18n]')) {
      const key = node.getAttribute('data-i18n') ?? '';
      if (i18n.has(key)) node.textContent = i18n.t(key);
    }
    if (this.#footer && this.#config) {
      this.#footer.textContent = i18n.t('app.version', { version: this.#config.version });
    }
  }

  /** @param {unknown} error */
  #showLoadFailure(error) {
    const i18n = this.#i18n;
    const retry = el('button', { type: 'button', class: 'button-primary' }, i18n.t('app.retry'));
    retry.addEventListener('click', () => {
      replaceChildren(this.#main, el('p', { class: 'muted' }, i18n.t('app.loading')));
      void this.#load();
    });
    const detail = error instanceof ApiError ? describeError(error, i18n) : '';
    replaceChildren(this.#main, el('section', { class: 'card auth', role: 'alert' },
      el('h1', {}, i18n.t('app.loadFailed')),
      detail && el('p', {}, detail),
      retry));
    document.title = i18n.t('app.name');
  }
}
