// The conversations pane: a navigation landmark named "Conversations"
// listing them most recent first, with unread counts and, for direct
// conversations, the other person's presence; the buttons to start a
// conversation and to allow notifications; and message search, whose
// results take the list's place until cleared.

import { el, replaceChildren, uniqueId } from '../components/dom.js';
import { icon } from '../components/icon.js';
import { avatar } from '../components/avatar.js';
import { updateKeyedList } from '../components/keyed-list.js';
import { describeError } from '../components/form-controller.js';
import { messagePreview } from './format.js';
import { openNewConversation } from './new-conversation.js';

/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */

/**
 * What one row shows; its JSON is the row's signature.
 * @typedef {Object} ItemData
 * @property {string} title
 * @property {string} avatarId
 * @property {import('../components/avatar.js').PresenceStatus | undefined} presence
 * @property {string} preview
 * @property {boolean} typing
 * @property {string} time
 * @property {number} unread
 * @property {boolean} current
 * @property {string} locale
 */

/**
 * @typedef {Object} ListOptions
 * @property {MessengerSession} session
 * @property {(path: string) => void} navigate
 * @property {(conversationId: string, message: Message) => void} showMessage a search hit was chosen
 */

export class ConversationList {
  /** @type {HTMLElement} */
  element;
  /** @type {ListOptions} */
  #options;
  /** @type {HTMLUListElement} */
  #list = el('ul', { class: 'conversation-list' });
  /** @type {HTMLElement} */
  #body = el('div', { class: 'conversation-body' });
  /** @type {HTMLButtonElement} */
  #notifyButton;
  /** @type {HTMLInputElement} */
  #searchBox;
  /** @type {string | null} */
  #current = null;
  /** @type {{ query: string, items: Message[] | null, error?: string } | null} */
  #search = null;
  /** @type {(() => void)[]} */
  #cleanup = [];
  #queued = false;

  /** @param {ListOptions} options */
  constructor(options) {
    this.#options = options;
    const { session } = options;
    const { i18n } = session;
    const headingId = uniqueId('conversations-heading');

    const newButton = el('button', { type: 'button', class: 'icon-button new-conversation-button', 'aria-label': i18n.t('conversations.new'), title: i18n.t('conversations.new') }, icon('plus'));
    newButton.addEventListener('click', () => openNewConversation(session, (conversation) => {
      options.navigate(`/c/${conversation.id}`);
    }));
    this.#notifyButton = el('button', { type: 'button', class: 'icon-button', 'aria-label': i18n.t('notifications.enable'), title: i18n.t('notifications.enable') }, icon('bell'));
    this.#notifyButton.addEventListener('click', () => void session.notifier.requestPermission());

    const searchId = uniqueId('message-search');
    this.#searchBox = el('input', { id: searchId, type: 'search', class: 'search-box', 'aria-label': i18n.t('search.label'), placeholder: i18n.t('search.placeholder'), autocomplete: 'off', enterkeyhint: 'search' });
    const searchForm = el('form', { role: 'search', class: 'message-search' },
      icon('search', 'search-icon'), this.#searchBox);
    searchForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.#runSearch(this.#searchBox.value.trim());
    });
    this.#searchBox.addEventListener('input', () => {
      if (this.#searchBox.value === '' && this.#search) this.#clearSearch();
    });
    this.#searchBox.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.#search) {
        event.preventDefault();
        this.#clearSearch();
      }
    });

    this.element = el('nav', { class: 'conversation-pane', 'aria-label': i18n.t('conversations.title') },
      el('div', { class: 'pane-header' },
        el('h2', { id: headingId }, i18n.t('conversations.title')),
        el('div', { class: 'pane-actions' }, this.#notifyButton, newButton)),
      searchForm,
      this.#body);

    const schedule = () => this.#schedule();
    this.#cleanup.push(
      session.store.on('conversations', schedule),
      session.store.on('presence', schedule),
      session.store.on('typing', schedule),
      session.notifier.onPermissionChange(schedule),
    );
    this.#render();
  }

  destroy() {
    for (const cleanup of this.#cleanup) cleanup();
  }

  /** @param {string | null} conversationId the one on screen */
  setCurrent(conversationId) {
    if (conversationId === this.#current) return;
    this.#current = conversationId;
    this.#render();
  }

  #schedule() {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.#render();
    });
  }

  #render() {
    const { session } = this.#options;
    this.#notifyButton.hidden = session.notifier.permission !== 'default';
    if (this.#search) {
      this.#drawSearch();
      return;
    }
    const conversations = session.store.conversations();
    if (conversations.length === 0) {
      replaceChildren(this.#body, el('p', { class: 'muted pane-empty' }, session.i18n.t('conversations.empty')));
      return;
    }
    if (this.#body.firstElementChild !== this.#list) replaceChildren(this.#body, this.#list);
    updateKeyedList(this.#list, conversations.map((conversation) => {
      const data = this.#itemData(conversation);
      return { key: conversation.id, signature: JSON.stringify(data), render: () => this.#drawItem(conversation, data) };
    }));
  }

  /**
   * @param {Conversation} conversation
   * @returns {ItemData}
   */
  #itemData(conversation) {
    const { session } = this.#options;
    const { i18n, store } = session;
    const peer = conversation.peer;
    const presence = peer ? store.presence(peer.id)?.status : undefined;
    const last = conversation.last_message;
    const typing = store.typing(conversation.id);
    let preview = '';
    if (typing.length > 0) {
      preview = i18n.t('typing.short');
    } else if (last) {
      const text = messagePreview(last, i18n);
      if (last.sender_id === session.user.id && !last.deleted) preview = i18n.t('preview.mine', { text });
      else if (conversation.kind === 'group' && !last.deleted) preview = `${store.nameOf(last.sender_id) ?? i18n.t('message.someone')}: ${text}`;
      else preview = text;
    }
    return {
      title: session.conversationTitle(conversation),
      avatarId: peer?.id ?? conversation.id,
      presence,
      preview,
      typing: typing.length > 0,
      time: i18n.formatListTime(last?.created_at ?? conversation.last_activity_at),
      unread: conversation.unread,
      current: conversation.id === this.#current,
      locale: i18n.locale,
    };
  }

  /**
   * @param {Conversation} conversation
   * @param {ItemData} data
   * @returns {HTMLLIElement}
   */
  #drawItem(conversation, data) {
    const { i18n } = this.#options.session;
    const classes = ['conversation-link'];
    if (data.unread > 0) classes.push('conversation-unread');
    return el('li', {},
      el('a', { href: `/c/${conversation.id}`, class: classes.join(' '), 'aria-current': data.current ? 'page' : undefined },
        avatar({ id: data.avatarId, name: data.title, status: data.presence, decorative: true }),
        el('span', { class: 'conversation-main' },
          el('span', { class: 'conversation-top' },
            el('span', { class: 'conversation-title' }, data.title,
              data.presence && el('span', { class: 'visually-hidden' }, ` (${i18n.t(`presence.${data.presence}`)})`)),
            el('span', { class: 'conversation-time' }, data.time)),
          el('span', { class: 'conversation-bottom' },
            el('span', { class: data.typing ? 'conversation-preview typing-preview' : 'conversation-preview' }, data.preview),
            data.unread > 0 && el('span', { class: 'unread-badge' },
              el('span', { 'aria-hidden': 'true' }, data.unread > 99 ? '99+' : data.unread),
              el('span', { class: 'visually-hidden' },
                i18n.t(data.unread === 1 ? 'conversations.unreadOne' : 'conversations.unread', { count: data.unread })))))));
  }

  // Search.

  /** @param {string} query */
  async #runSearch(query) {
    if (!query) {
      this.#clearSearch();
      return;
    }
    const { session } = this.#options;
    this.#search = { query, items: null };
    this.#render();
    try {
      const items = await session.searchMessages(query);
      if (this.#search?.query !== query) return;
      this.#search = { query, items };
    } catch (error) {
      if (this.#search?.query !== query) return;
      this.#search = { query, items: [], error: describeError(error, session.i18n) };
    }
    this.#render();
  }

  #clearSearch() {
    this.#search = null;
    this.#searchBox.value = '';
    this.#render();
    this.#searchBox.focus();
  }

  #drawSearch() {
    const search = this.#search;
    if (!search) return;
    const { session, showMessage } = this.#options;
    const { i18n, store } = session;
    const clear = el('button', { type: 'button', class: 'link-button' }, i18n.t('search.clear'));
    clear.addEventListener('click', () => this.#clearSearch());
    const headingId = uniqueId('search-results');
    /** @type {HTMLElement | null} */
    let content = null;
    if (search.items === null) {
      content = null;
    } else if (search.error) {
      content = el('p', { class: 'field-error' }, search.error);
    } else if (search.items.length === 0) {
      content = el('p', { class: 'muted' }, i18n.t('search.none'));
    } else {
      content = el('ul', { class: 'search-results', 'aria-labelledby': headingId }, ...search.items.map((message) => {
        const conversation = store.conversation(message.conversation_id);
        const where = conversation ? session.conversationTitle(conversation) : '';
        const who = message.sender_id === session.user.id
          ? i18n.t('message.you')
          : store.nameOf(message.sender_id) ?? (conversation?.peer?.id === message.sender_id ? conversation.peer.name : i18n.t('message.someone'));
        const link = el('a', { href: `/c/${message.conversation_id}`, class: 'search-hit' },
          el('span', { class: 'search-hit-top' },
            el('span', { class: 'search-hit-where' }, where),
            el('span', { class: 'conversation-time' }, i18n.formatListTime(message.created_at))),
          el('span', { class: 'search-hit-text' }, `${who}: ${messagePreview(message, i18n)}`));
        link.addEventListener('click', (event) => {
          if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
          event.preventDefault();
          showMessage(message.conversation_id, message);
        });
        return el('li', {}, link);
      }));
    }
    replaceChildren(this.#body,
      el('div', { class: 'search-header' },
        el('h3', { id: headingId, 'aria-live': 'polite' }, search.items === null
          ? i18n.t('search.searching')
          : i18n.t(search.items.length === 1 ? 'search.resultsOne' : 'search.results', { query: search.query, count: search.items.length })),
        clear),
      content);
  }
}
