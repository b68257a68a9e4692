// The messenger's screen: the conversations pane beside the open thread
// on wide screens, one or the other on phones (the URL says which: / is
// the list, /c/<id> a conversation), and a banner while the connection
// is down. It lives as long as the session, so moving between
// conversations keeps the list's scroll position.

import { el, replaceChildren } from '../components/dom.js';
import { ConversationList } from './conversation-list.js';
import { ThreadView } from './thread-view.js';

/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */
/** @typedef {import('./session.js').ConnectionState} ConnectionState */

/** How long the first connection may take before the banner says so. */
const connectingGraceMs = 1500;

export class MessengerScreen {
  /** @type {HTMLElement} */
  element;
  /** @type {MessengerSession} */
  #session;
  /** @type {(path: string) => void} */
  #navigate;
  /** @type {string} */
  #locale;
  /** @type {ConversationList} */
  #list;
  /** @type {ThreadView | null} */
  #thread = null;
  /** @type {HTMLElement} */
  #threadPane = el('div', { class: 'thread-pane' });
  /** @type {HTMLElement} */
  #banner = el('div', { class: 'connection-status', role: 'status' });
  /** @type {{ conversationId: string, messageId: string, seq: number } | null} */
  #pendingJump = null;
  /** @type {number | undefined} */
  #graceTimer;
  #graceOver = false;

  /**
   * @param {{ session: MessengerSession, navigate: (path: string) => void }} options
   */
  constructor({ session, navigate }) {
    this.#session = session;
    this.#navigate = navigate;
    this.#locale = session.i18n.locale;
    this.#list = this.#makeList();
    this.element = el('div', { class: 'messenger', 'data-screen': 'list' });
    this.#build();
    session.onConnection((state) => this.#drawBanner(state));
    session.onStop(() => this.destroy());
    // A conversation the person left or was removed from closes.
    session.store.on('removed', (id) => {
      if (this.#thread?.conversationId === id && this.element.isConnected) this.#navigate('/');
    });
    this.#graceTimer = window.setTimeout(() => {
      this.#graceOver = true;
      this.#drawBanner(session.connection);
    }, connectingGraceMs);
    this.#drawBanner(session.connection);
  }

  /** Takes the page down with the session. */
  destroy() {
    window.clearTimeout(this.#graceTimer);
    this.#list.destroy();
    this.#thread?.destroy();
  }

  #makeList() {
    return new ConversationList({
      session: this.#session,
      navigate: this.#navigate,
      showMessage: (conversationId, message) => this.#showMessage(conversationId, message),
    });
  }

  #build() {
    const { i18n } = this.#session;
    replaceChildren(this.element,
      el('h1', { class: 'visually-hidden', tabindex: -1 }, i18n.t('messenger.title')),
      this.#banner,
      el('div', { class: 'messenger-panes' }, this.#list.element, this.#threadPane));
  }

  /**
   * Shows the list and, when conversationId is set, that conversation.
   * @param {string | null} conversationId
   */
  show(conversationId) {
    // Back from another screen: the page had dropped the layout, and with
    // it the thread's scroll position.
    const returning = !this.element.isConnected;
    if (this.#session.i18n.locale !== this.#locale) {
      // A new language: every text is drawn again; the data stays.
      this.#locale = this.#session.i18n.locale;
      this.#list.destroy();
      this.#list = this.#makeList();
      this.#thread?.destroy();
      this.#thread = null;
      this.#build();
      this.#drawBanner(this.#session.connection);
    }
    this.element.dataset.screen = conversationId ? 'thread' : 'list';
    this.#list.setCurrent(conversationId);
    if (this.#thread?.conversationId !== conversationId) {
      this.#thread?.destroy();
      this.#thread = null;
      if (conversationId) {
        this.#thread = new ThreadView({
          session: this.#session,
          conversationId,
          onTitle: (title) => {
            // A deep link learns the name after the page's title was set;
            // while the tab is hidden the title holds the unread count.
            if (this.element.isConnected && document.visibilityState === 'visible') {
              document.title = `${title} · ${this.#session.i18n.t('app.name')}`;
            }
          },
        });
        replaceChildren(this.#threadPane, this.#thread.element);
        const thread = this.#thread;
        void thread.open().then(() => this.#jumpIfAsked(thread));
      } else {
        replaceChildren(this.#threadPane, el('div', { class: 'thread-placeholder' },
          el('p', {}, this.#session.i18n.t('messenger.pick'))));
      }
    } else if (this.#thread) {
      if (returning) this.#thread.returned();
      void this.#jumpIfAsked(this.#thread);
    }
  }

  /** The open conversation's title, for the document's title. */
  get title() {
    const conversation = this.#thread ? this.#session.store.conversation(this.#thread.conversationId) : undefined;
    return conversation ? this.#session.conversationTitle(conversation) : this.#session.i18n.t('conversations.title');
  }

  /** Puts the focus where a person arriving here would start. */
  focus() {
    if (!this.#thread) {
      this.element.querySelector('h1')?.focus();
      return;
    }
    // On a touch screen focusing the box would raise the keyboard over
    // what the person came to read.
    const heading = this.element.querySelector('.thread-title');
    if (window.matchMedia('(pointer: coarse)').matches && heading instanceof HTMLElement) heading.focus();
    else this.#thread.focusComposer();
  }

  /**
   * @param {string} conversationId
   * @param {Message} message
   */
  #showMessage(conversationId, message) {
    this.#pendingJump = { conversationId, messageId: message.id, seq: message.seq };
    this.#navigate(`/c/${conversationId}`);
  }

  /** @param {ThreadView} thread */
  async #jumpIfAsked(thread) {
    const jump = this.#pendingJump;
    if (!jump || jump.conversationId !== thread.conversationId) return;
    this.#pendingJump = null;
    await thread.jumpTo(jump.messageId, jump.seq);
  }

  /** @param {ConnectionState} state */
  #drawBanner(state) {
    const { i18n } = this.#session;
    this.element.dataset.connection = state;
    let text = '';
    if (state === 'reconnecting') text = i18n.t('connection.reconnecting');
    else if (state === 'connecting' && this.#graceOver) text = i18n.t('connection.connecting');
    if (!text) {
      this.#banner.replaceChildren();
      return;
    }
    this.#banner.replaceChildren(el('p', { class: 'connection-banner' },
      el('span', { class: 'connection-spinner', 'aria-hidden': 'true' }),
      el('span', {}, text),
      el('span', { class: 'connection-hint' }, i18n.t('connection.outboxHint'))));
  }
}
