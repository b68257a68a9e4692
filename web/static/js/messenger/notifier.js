// Telling the person about new messages when they are not looking: a
// count in the tab's title while the tab is hidden ("(3) Parley"), and a
// desktop notification once they have allowed them. Permission is asked
// only when they press the button for it, never on load.

/** @typedef {import('../i18n.js').I18n} I18n */

/**
 * @typedef {Object} Incoming
 * @property {string} conversationId
 * @property {string} title the conversation's name
 * @property {string} text who said what, one line
 * @property {boolean} viewing the conversation is on screen
 */

export class Notifier {
  /** @type {I18n} */
  #i18n;
  /** @type {(conversationId: string) => void} */
  #open;
  #hiddenCount = 0;
  /** @type {string | null} the title before the count went in */
  #savedTitle = null;
  /** @type {Set<() => void>} */
  #listeners = new Set();
  #onVisibility = () => {
    if (document.visibilityState === 'visible') this.#clearCount();
  };

  /**
   * @param {{ i18n: I18n, open: (conversationId: string) => void }} options
   *   open shows a conversation (a notification was clicked)
   */
  constructor({ i18n, open }) {
    this.#i18n = i18n;
    this.#open = open;
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  stop() {
    document.removeEventListener('visibilitychange', this.#onVisibility);
    this.#clearCount();
  }

  /** Whether the browser can show notifications here (not over plain http). */
  get supported() {
    return typeof Notification === 'function' && window.isSecureContext;
  }

  /** @returns {NotificationPermission | 'unsupported'} */
  get permission() {
    return this.supported ? Notification.permission : 'unsupported';
  }

  /**
   * Asks the browser for permission; call it from a button press.
   * @returns {Promise<void>}
   */
  async requestPermission() {
    if (!this.supported) return;
    try {
      await Notification.requestPermission();
    } finally {
      for (const listener of this.#listeners) listener();
    }
  }

  /**
   * @param {() => void} listener hears when the permission may have changed
   * @returns {() => void}
   */
  onPermissionChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @param {Incoming} incoming */
  notify({ conversationId, title, text, viewing }) {
    const hidden = document.visibilityState === 'hidden';
    if (hidden) {
      this.#hiddenCount += 1;
      this.#savedTitle ??= document.title;
      document.title = `(${this.#hiddenCount}) ${this.#i18n.t('app.name')}`;
    }
    if (viewing && !hidden && document.hasFocus()) return;
    if (this.permission !== 'granted') return;
    try {
      // One notification per conversation: a newer one replaces it.
      const notification = new Notification(title, { body: text, tag: conversationId, lang: this.#i18n.locale });
      notification.addEventListener('click', () => {
        window.focus();
        this.#open(conversationId);
        notification.close();
      });
    } catch {
      // Some browsers only notify from a service worker; the title count
      // still tells.
    }
  }

  #clearCount() {
    this.#hiddenCount = 0;
    if (this.#savedTitle !== null) {
      document.title = this.#savedTitle;
      this.#savedTitle = null;
    }
  }
}
