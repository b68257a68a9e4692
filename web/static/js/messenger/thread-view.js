// One conversation on screen: its header (name, presence, the call
// buttons), the messages (older ones load when scrolling back), who is
// typing, and the composer. It marks the conversation read while the
// person is looking at its end, and keeps the view pinned to the newest
// message unless they scrolled up.

import { el, replaceChildren, uniqueId } from '../components/dom.js';
import { icon } from '../components/icon.js';
import { avatar } from '../components/avatar.js';
import { confirmAction } from '../components/confirm-dialog.js';
import { describeError } from '../components/form-controller.js';
import { updateKeyedList } from '../components/keyed-list.js';
import { Notice } from '../components/notice.js';
import { popoverMenu } from '../components/popover-menu.js';
import { Composer } from './composer.js';
import { messagePreview } from './format.js';
import { messageSignature, pendingSignature, renderMessage, renderPending } from './message-item.js';

/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').ConversationEvent} ConversationEvent */
/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('../components/keyed-list.js').KeyedItem} KeyedItem */
/** @typedef {import('./message-item.js').MessageView} MessageView */
/** @typedef {import('./session.js').MessengerSession} MessengerSession */

/** Messages of one sender this close together form one run. */
const runGapMs = 5 * 60 * 1000;
/** Within this many pixels of the end counts as at the end. */
const nearEnd = 48;
/** Within this many pixels of the top, older messages start loading. */
const nearTop = 200;

export class ThreadView {
  /** @type {HTMLElement} */
  element;
  /** @type {MessengerSession} */
  #session;
  /** @type {string} */
  #id;
  /** @type {HTMLElement} */
  #header = el('header', { class: 'thread-header' });
  /** @type {HTMLElement} */
  #scroller;
  /** @type {HTMLOListElement} */
  #list;
  /** @type {HTMLButtonElement} */
  #olderButton;
  /** @type {HTMLElement} */
  #status = el('div', { class: 'thread-status' });
  /** @type {HTMLElement} */
  #typing = el('p', { class: 'typing-indicator', 'aria-live': 'polite' });
  /** @type {HTMLElement} */
  #announcer = el('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  /** @type {Notice} */
  #errors = Notice.create('error');
  /** @type {Composer} */
  #composer;
  /** @type {(() => void)[]} */
  #cleanup = [];
  #renderQueued = false;
  #stickToEnd = true;
  #firstDraw = true;
  /** @type {number | undefined} */
  #highlightTimer;
  #titleId = uniqueId('thread-title');
  #headerSignature = '';

  /** @type {(title: string) => void} */
  #onTitle;

  /**
   * @param {{ session: MessengerSession, conversationId: string, onTitle: (title: string) => void }} options
   *   onTitle hears the conversation's name whenever it is drawn
   */
  constructor({ session, conversationId, onTitle }) {
    this.#session = session;
    this.#id = conversationId;
    this.#onTitle = onTitle;
    const { i18n } = session;

    this.#list = el('ol', { class: 'message-list', 'aria-labelledby': this.#titleId });
    this.#olderButton = el('button', { type: 'button', class: 'button-secondary older-button' }, i18n.t('thread.older'));
    this.#olderButton.addEventListener('click', () => void this.#loadOlder());
    this.#scroller = el('div', { class: 'message-scroller', role: 'region', tabindex: 0, 'aria-label': i18n.t('thread.messages') },
      this.#olderButton, this.#status, this.#list);
    this.#scroller.addEventListener('scroll', () => this.#onScroll(), { passive: true });

    this.#composer = new Composer({
      session,
      conversationId,
      onSent: () => {
        this.#stickToEnd = true;
        this.#scheduleRender();
      },
      lastOwnMessage: () => [...session.store.messages(conversationId)].reverse()
        .find((message) => message.sender_id === session.user.id && !message.deleted && message.body !== ''),
    });

    this.element = el('section', { class: 'thread', 'aria-labelledby': this.#titleId },
      this.#header,
      this.#errors,
      this.#scroller,
      this.#typing,
      this.#announcer,
      this.#composer.element,
      el('div', { class: 'drop-overlay', 'aria-hidden': 'true' }, icon('attach'), i18n.t('composer.drop')));
    this.#wireDrop();

    const { store } = session;
    const id = conversationId;
    this.#cleanup.push(
      store.on('thread', (changed) => { if (changed === id) this.#scheduleRender(); }),
      store.on('conversations', () => this.#drawHeader()),
      store.on('presence', () => this.#drawHeader()),
      store.on('typing', (changed) => { if (changed === id) this.#drawTyping(); }),
      store.on('incoming', (message) => this.#announce(message)),
      session.onOutbox(() => this.#scheduleRender()),
      session.onConnection(() => this.#scheduleRender()),
    );
    const onVisible = () => this.#markReadIfSeen();
    document.addEventListener('visibilitychange', onVisible);
    window.addEventListener('focus', onVisible);
    this.#cleanup.push(() => {
      document.removeEventListener('visibilitychange', onVisible);
      window.removeEventListener('focus', onVisible);
    });
    this.#drawHeader();
    this.#render();
  }

  get conversationId() {
    return this.#id;
  }

  /** Loads what the thread needs; call once it is on the page. */
  async open() {
    this.#composer.attached();
    this.#session.setActive(this.#id);
    const ok = await this.#session.openThread(this.#id);
    if (!ok) {
      this.#status.replaceChildren(el('p', { class: 'muted' }, this.#session.i18n.t('thread.notFound')));
    }
    this.#render();
  }

  destroy() {
    for (const cleanup of this.#cleanup) cleanup();
    this.#composer.destroy();
    window.clearTimeout(this.#highlightTimer);
    if (this.#session.activeId === this.#id) this.#session.setActive(null);
  }

  /** The view is back on the page: show the newest messages again. */
  returned() {
    this.#session.setActive(this.#id);
    this.#stickToEnd = true;
    this.#scheduleRender();
  }

  focusComposer() {
    this.#composer.focus();
  }

  /**
   * Shows one message, loading back to it first when needed (a search hit).
   * @param {string} messageId
   * @param {number} seq
   */
  async jumpTo(messageId, seq) {
    await this.#session.loadUntil(this.#id, seq);
    this.#render();
    this.#highlight(messageId);
  }

  /** @param {string} messageId */
  #highlight(messageId) {
    const item = this.#list.querySelector(`#message-${CSS.escape(messageId)}`);
    if (!(item instanceof HTMLElement)) return;
    this.#stickToEnd = false;
    item.scrollIntoView({ block: 'center' });
    item.classList.add('message-highlight');
    item.focus({ preventScroll: true });
    window.clearTimeout(this.#highlightTimer);
    this.#highlightTimer = window.setTimeout(() => item.classList.remove('message-highlight'), 2500);
  }

  // The header.

  #drawHeader() {
    const { i18n, store } = this.#session;
    const conversation = store.conversation(this.#id);
    const back = () => el('a', { href: '/', class: 'icon-button thread-back', 'aria-label': i18n.t('thread.back'), title: i18n.t('thread.back') }, icon('back'));
    if (!conversation) {
      this.#headerSignature = '';
      replaceChildren(this.#header, back(), el('h2', { id: this.#titleId, class: 'thread-title', tabindex: -1 }, i18n.t('app.loading')));
      return;
    }
    const title = this.#session.conversationTitle(conversation);
    const peer = conversation.peer;
    const presence = peer ? store.presence(peer.id) : undefined;
    /** @type {string} */
    let subtitle;
    if (conversation.kind === 'group') {
      subtitle = conversation.member_count === 1
        ? i18n.t('thread.membersOne')
        : i18n.t('thread.members', { count: conversation.member_count });
    } else if (!peer) {
      subtitle = i18n.t('thread.notesToSelfHint');
    } else if (presence?.status === 'online') {
      subtitle = i18n.t('presence.online');
    } else if (presence?.status === 'away') {
      subtitle = i18n.t('presence.away');
    } else if (presence?.last_seen) {
      subtitle = i18n.t('presence.lastSeen', { time: i18n.formatLastSeen(presence.last_seen) });
    } else {
      subtitle = presence ? i18n.t('presence.offline') : '';
    }
    // Redrawn only when it changed, so that the focus stays on its buttons.
    const signature = JSON.stringify([title, subtitle, presence?.status]);
    if (signature === this.#headerSignature) return;
    this.#headerSignature = signature;
    this.#onTitle(title);
    replaceChildren(this.#header,
      back(),
      avatar({ id: peer?.id ?? conversation.id, name: title, status: presence?.status, decorative: true }),
      el('div', { class: 'thread-heading' },
        el('h2', { id: this.#titleId, class: 'thread-title', tabindex: -1 }, title),
        subtitle && el('p', { class: 'thread-subtitle' }, subtitle)),
      // Notes to self have nobody to call. The buttons are made once and
      // kept across redraws, so an open help menu stays open when the
      // person's presence changes.
      conversation.kind === 'group' || peer ? (this.#callButtons ??= this.#callActions()) : null);
  }

  /** @type {HTMLElement | null} the call buttons, once made */
  #callButtons = null;

  /** The call buttons: voice, video, and a help call in either role. */
  #callActions() {
    const { i18n } = this.#session;
    /**
     * @param {'voice' | 'video' | 'help'} kind
     * @param {'helper' | 'customer'} [role]
     */
    const start = (kind, role) => {
      this.#errors.clear();
      this.#session.calls.start(this.#id, kind, role).catch((error) => {
        if (!this.#session.calls.active) this.#errors.show(describeError(error, i18n));
      });
    };
    /**
     * @param {'voice' | 'video'} kind
     * @param {import('../components/icon.js').IconName} glyph
     * @param {string} label
     */
    const button = (kind, glyph, label) => {
      const element = el('button', { type: 'button', class: 'icon-button call-button', 'aria-label': label, title: label, 'data-call': kind }, icon(glyph));
      element.addEventListener('click', () => start(kind));
      return element;
    };
    const help = popoverMenu({
      label: i18n.t('call.help'),
      buttonContent: [icon('help')],
      buttonClass: 'icon-button call-button',
      items: () => {
        const helper = el('button', { type: 'button', class: 'menu-item' }, icon('video'), i18n.t('call.helpAsHelper'));
        helper.addEventListener('click', () => start('help', 'helper'));
        const customer = el('button', { type: 'button', class: 'menu-item' }, icon('screen'), i18n.t('call.helpAsCustomer'));
        customer.addEventListener('click', () => start('help', 'customer'));
        return [helper, customer];
      },
    });
    return el('div', { class: 'call-actions' },
      button('voice', 'phone', i18n.t('call.voice')),
      button('video', 'video', i18n.t('call.video')),
      help.element);
  }

  // The messages.

  #scheduleRender() {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    queueMicrotask(() => {
      this.#renderQueued = false;
      this.#render();
    });
  }

  #render() {
    const { i18n, store } = this.#session;
    const thread = store.thread(this.#id);
    const scroller = this.#scroller;
    const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < nearEnd;
    const anchor = this.#firstVisibleMessage();
    const anchorKey = anchor?.dataset.key;
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;

    this.#olderButton.hidden = !thread || thread.status !== 'ready' || !thread.hasOlder;
    this.#olderButton.disabled = Boolean(thread?.loadingOlder);
    this.#olderButton.textContent = thread?.loadingOlder ? i18n.t('app.loading') : i18n.t('thread.older');
    this.#drawStatus();

    updateKeyedList(this.#list, this.#items());

    if (this.#firstDraw && thread?.status === 'ready') {
      this.#firstDraw = false;
      this.#stickToEnd = true;
    }
    if (this.#stickToEnd || atEnd) {
      scroller.scrollTop = scroller.scrollHeight;
    } else if (anchorKey) {
      // Older messages went in above (or one above grew): keep what was on
      // screen in place. The element may have been redrawn; its key stays.
      const again = this.#list.querySelector(`[data-key="${CSS.escape(anchorKey)}"]`);
      if (again) scroller.scrollTop += again.getBoundingClientRect().top - anchorTop;
    }
    if (thread?.status === 'ready') this.#stickToEnd = false;
    this.#drawTyping();
    this.#markReadIfSeen();
    // A first page that does not fill the screen cannot be scrolled back.
    if (thread?.status === 'ready' && thread.hasOlder && !thread.loadingOlder
      && scroller.scrollHeight <= scroller.clientHeight + nearTop) {
      void this.#loadOlder();
    }
  }

  /** @returns {HTMLElement | null} the first message at least partly on screen */
  #firstVisibleMessage() {
    const top = this.#scroller.getBoundingClientRect().top;
    for (const item of this.#list.children) {
      if (item instanceof HTMLElement && item.classList.contains('message') && item.getBoundingClientRect().bottom > top) return item;
    }
    return null;
  }

  #drawStatus() {
    const { i18n, store } = this.#session;
    const thread = store.thread(this.#id);
    if (!thread || thread.status === 'loading') {
      replaceChildren(this.#status, el('p', { class: 'muted' }, i18n.t('thread.loading')));
    } else if (thread.status === 'failed') {
      const retry = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('app.retry'));
      retry.addEventListener('click', () => void this.open());
      replaceChildren(this.#status, el('p', { class: 'muted' }, i18n.t('thread.loadFailed')), retry);
    } else if (store.messages(this.#id).length === 0 && this.#session.outbox.entries(this.#id).length === 0) {
      replaceChildren(this.#status, el('p', { class: 'muted thread-empty' }, i18n.t('thread.empty')));
    } else {
      this.#status.replaceChildren();
    }
  }

  /** @returns {KeyedItem[]} */
  #items() {
    const session = this.#session;
    const { i18n, store } = session;
    const me = session.user.id;
    const conversation = store.conversation(this.#id);
    const thread = store.thread(this.#id);
    const messages = store.messages(this.#id);
    const group = conversation?.kind === 'group';
    const receipt = this.#receipt(messages);
    const nameOf = (/** @type {string} */ id) => store.nameOf(id) ?? i18n.t('message.someone');
    const context = {
      i18n,
      attachmentUrl: (/** @type {string} */ id) => session.api.attachmentUrl(id),
      actions: {
        reply: (/** @type {Message} */ message) => this.#composer.reply(message),
        edit: (/** @type {Message} */ message) => this.#composer.edit(message),
        remove: (/** @type {Message} */ message) => void this.#delete(message),
        react: (/** @type {Message} */ message, /** @type {string} */ emoji) => void this.#react(message, emoji),
        jumpTo: (/** @type {string} */ messageId) => this.#highlight(messageId),
      },
    };

    /** @type {KeyedItem[]} */
    const items = [];
    /** @type {Message | null} */
    let previous = null;
    let previousDay = '';
    // Ended calls sit among the messages by seq ("missed call", "call, 4 min").
    const calls = store.calls(this.#id).filter((call) => !thread?.hasOlder || call.seq > thread.oldestSeq);
    let nextCall = 0;
    const daySeparator = (/** @type {string} */ at) => {
      const day = localDay(at);
      if (day === previousDay) return day;
      const label = i18n.formatDay(at);
      items.push({ key: `day:${day}`, signature: label, render: () => el('li', { class: 'day-separator' }, el('span', {}, label)) });
      return day;
    };
    const pushCall = (/** @type {ConversationEvent} */ event) => {
      previousDay = daySeparator(event.at);
      const text = callLine(i18n, event);
      items.push({ key: `c:${event.seq}`, signature: text, render: () => el('li', { class: 'call-line' }, el('span', {}, text)) });
      previous = null;
    };
    for (const message of messages) {
      while (nextCall < calls.length && calls[nextCall].seq < message.seq) pushCall(calls[nextCall++]);
      const day = localDay(message.created_at);
      if (day !== previousDay) {
        const label = i18n.formatDay(message.created_at);
        items.push({
          key: `day:${day}`,
          signature: label,
          render: () => el('li', { class: 'day-separator' }, el('span', {}, label)),
        });
      }
      const grouped = previous !== null && previous.sender_id === message.sender_id && day === previousDay
        && Date.parse(message.created_at) - Date.parse(previous.created_at) < runGapMs;
      const replied = message.reply_to ? thread?.messages.get(message.reply_to) : undefined;
      /** @type {MessageView} */
      const view = {
        message,
        own: message.sender_id === me,
        senderName: nameOf(message.sender_id),
        showSender: group && message.sender_id !== me && !grouped,
        grouped,
        quote: replied ? {
          id: replied.id,
          sender: replied.sender_id === me ? i18n.t('message.you') : nameOf(replied.sender_id),
          text: messagePreview(replied, i18n),
        } : null,
        quoteMissing: Boolean(message.reply_to) && !replied,
        receipt: receipt?.messageId === message.id ? receipt.text : null,
        me,
        nameOf,
      };
      items.push({ key: `m:${message.id}`, signature: messageSignature(view), render: () => renderMessage(view, context) });
      previous = message;
      previousDay = day;
    }
    while (nextCall < calls.length) pushCall(calls[nextCall++]);

    const stored = new Set(messages.filter((message) => message.sender_id === me).map((message) => message.client_id));
    const online = session.connection === 'online';
    for (const entry of session.outbox.entries(this.#id)) {
      if (stored.has(entry.client_id)) continue;
      items.push({
        key: `p:${entry.client_id}`,
        signature: pendingSignature(entry, online),
        render: () => renderPending(entry, {
          i18n,
          online,
          retry: () => session.retry(entry.client_id),
          discard: () => session.discard(entry.client_id),
          attachmentUrl: (id) => session.api.attachmentUrl(id),
        }),
      });
    }
    return items;
  }

  /**
   * The read receipt under the person's last message, when it is the last
   * one in the thread: who of the others has read that far.
   * @param {Message[]} messages
   * @returns {{ messageId: string, text: string } | null}
   */
  #receipt(messages) {
    const { i18n, store, user } = this.#session;
    const last = messages[messages.length - 1];
    if (!last || last.sender_id !== user.id || last.deleted) return null;
    const members = store.thread(this.#id)?.members;
    if (!members) return null;
    const others = members.filter((member) => member.user_id !== user.id);
    if (others.length === 0) return null;
    const readers = others.filter((member) => member.read_seq >= last.seq);
    const conversation = store.conversation(this.#id);
    let text;
    if (readers.length === 0) text = i18n.t('receipt.sent');
    else if (conversation?.kind !== 'group') text = i18n.t('receipt.seen');
    else if (readers.length === others.length) text = i18n.t('receipt.seenByAll');
    else text = i18n.t('receipt.seenBy', { names: readers.map((member) => member.name).join(', ') });
    return { messageId: last.id, text };
  }

  #drawTyping() {
    const { i18n, store } = this.#session;
    const names = store.typing(this.#id).map((id) => store.nameOf(id) ?? i18n.t('message.someone'));
    let text = '';
    if (names.length === 1) text = i18n.t('typing.one', { name: names[0] });
    else if (names.length === 2) text = i18n.t('typing.two', { first: names[0], second: names[1] });
    else if (names.length > 2) text = i18n.t('typing.many');
    if (this.#typing.textContent !== text) this.#typing.textContent = text;
  }

  /** @param {Message} message */
  #announce(message) {
    if (message.conversation_id !== this.#id) return;
    const { i18n, store } = this.#session;
    const name = store.nameOf(message.sender_id) ?? i18n.t('message.someone');
    this.#announcer.textContent = i18n.t('thread.announce', { name, text: messagePreview(message, i18n) });
  }

  #onScroll() {
    const scroller = this.#scroller;
    if (scroller.scrollTop < nearTop) void this.#loadOlder();
    this.#markReadIfSeen();
  }

  async #loadOlder() {
    try {
      await this.#session.loadOlder(this.#id);
    } catch (error) {
      this.#errors.show(describeError(error, this.#session.i18n));
    }
  }

  /** Moves the read cursor when the end of the thread is on screen. */
  #markReadIfSeen() {
    if (document.visibilityState !== 'visible' || !this.element.isConnected) return;
    if (this.#session.store.thread(this.#id)?.status !== 'ready') return;
    const scroller = this.#scroller;
    if (scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight > nearEnd) return;
    this.#session.markRead(this.#id);
  }

  /** @param {Message} message */
  async #delete(message) {
    const { i18n } = this.#session;
    const ok = await confirmAction({
      message: i18n.t('message.deleteConfirm'),
      confirm: i18n.t('message.delete'),
      cancel: i18n.t('dialog.cancel'),
    });
    if (!ok) return;
    this.#errors.clear();
    try {
      await this.#session.deleteMessage(this.#id, message.id);
    } catch (error) {
      this.#errors.show(describeError(error, i18n));
    }
  }

  /**
   * @param {Message} message
   * @param {string} emoji
   */
  async #react(message, emoji) {
    this.#errors.clear();
    try {
      await this.#session.toggleReaction(this.#id, message, emoji);
    } catch (error) {
      this.#errors.show(describeError(error, this.#session.i18n));
    }
  }

  #wireDrop() {
    const zone = this.element;
    let depth = 0;
    /** @param {DragEvent} event */
    const hasFiles = (event) => Array.from(event.dataTransfer?.types ?? []).includes('Files');
    zone.addEventListener('dragenter', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add('dragging');
    });
    zone.addEventListener('dragover', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    zone.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) zone.classList.remove('dragging');
    });
    zone.addEventListener('drop', (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      zone.classList.remove('dragging');
      this.#composer.addFiles(Array.from(event.dataTransfer?.files ?? []));
      this.#composer.focus();
    });
  }
}

/**
 * The reader's calendar day of a timestamp.
 * @param {string} iso
 * @returns {string}
 */
function localDay(iso) {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

/**
 * The line an ended call leaves in its conversation.
 * @param {import('../i18n.js').I18n} i18n
 * @param {ConversationEvent} event
 */
function callLine(i18n, event) {
  const call = event.call ?? { id: '', kind: 'voice' };
  const kindKey = /** @type {'call.line.voice' | 'call.line.video' | 'call.line.help'} */ (
    call.kind === 'video' || call.kind === 'help' ? `call.line.${call.kind}` : 'call.line.voice');
  const kind = i18n.t(kindKey);
  switch (call.reason) {
    case 'missed': return i18n.t('call.line.missed', { kind });
    case 'declined': return i18n.t('call.line.declined', { kind });
    case 'cancelled': return i18n.t('call.line.cancelled', { kind });
  }
  const seconds = call.duration ?? 0;
  const duration = seconds < 60 ? i18n.t('call.line.seconds', { n: String(seconds) })
    : i18n.t('call.line.minutes', { n: String(Math.round(seconds / 60)) });
  const line = i18n.t('call.line.done', { kind, duration });
  return line.charAt(0).toUpperCase() + line.slice(1);
}
