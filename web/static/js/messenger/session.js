// The messenger while someone is signed in: it owns the realtime socket,
// the event cursors, the outbox and the store, and offers the views the
// actions they need (open a thread, send, react…). It outlives the views:
// navigating between conversations or switching language redraws them
// without reconnecting.

import { ApiError } from '../api.js';
import { RealtimeSocket, FrameError, NotConnectedError } from '../realtime/socket.js';
import { EventSync } from '../realtime/sync.js';
import { Outbox } from '../realtime/outbox.js';
import { MessengerStore } from './store.js';
import { Notifier } from './notifier.js';
import { messagePreview } from './format.js';
import { CallManager } from '../calls/call-manager.js';

/** @typedef {import('../api.js').Api} Api */
/** @typedef {import('../api.js').User} User */
/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').Attachment} Attachment */
/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('../api.js').UserHit} UserHit */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../realtime/outbox.js').OutboxEntry} OutboxEntry */
/** @typedef {import('../realtime/socket.js').ServerFrame} ServerFrame */

/**
 * connecting: not caught up yet since the page opened; online: live;
 * reconnecting: it was live and lost the connection.
 * @typedef {'connecting' | 'online' | 'reconnecting'} ConnectionState
 */

/**
 * @typedef {Object} SessionOptions
 * @property {Api} api
 * @property {I18n} i18n
 * @property {User} user
 * @property {Storage | null} storage keeps the outbox across reloads
 * @property {() => void} sessionEnded the server no longer knows the session
 * @property {(path: string) => void} navigate
 */

/** Messages per page when opening a thread and scrolling back. */
const pageSize = 50;
/** The largest seq there can be: "before" it means the newest messages. */
const end = Number.MAX_SAFE_INTEGER;
/** How often to say "typing" while the person keeps typing. */
const typingEveryMs = 3000;

export class MessengerSession {
  /** @type {Api} */
  api;
  /** @type {I18n} */
  i18n;
  /** @type {User} */
  user;
  /** @type {MessengerStore} */
  store;
  /** @type {Outbox} */
  outbox;
  /** @type {Notifier} */
  notifier;
  /** @type {CallManager} ringing, and the call this tab is in */
  calls;
  /** @type {RealtimeSocket} */
  #socket;
  /** @type {EventSync} */
  #sync;
  /** @type {SessionOptions} */
  #options;
  /** @type {ConnectionState} */
  #connection = 'connecting';
  /** @type {Set<(state: ConnectionState) => void>} */
  #connectionListeners = new Set();
  /** @type {Set<() => void>} */
  #outboxListeners = new Set();
  /** @type {string | null} the conversation on screen */
  #activeId = null;
  /** @type {Map<string, number>} */
  #typingSent = new Map();
  /** @type {Map<string, string>} unsent text per conversation */
  drafts = new Map();
  /** @type {number | undefined} */
  #watchTimer;
  /** @type {number | undefined} */
  #flushTimer;
  #watched = '';
  /** @type {Set<string>} conversations whose members were read for names */
  #namesAsked = new Set();
  #stopped = false;
  /** @type {(() => void)[]} */
  #cleanup = [];
  /** @type {Set<() => void>} */
  #stopListeners = new Set();

  /** @param {SessionOptions} options */
  constructor(options) {
    this.#options = options;
    this.api = options.api;
    this.i18n = options.i18n;
    this.user = options.user;
    this.store = new MessengerStore(options.user);
    this.outbox = new Outbox({
      storage: options.storage,
      key: `parley.outbox.${options.user.id}`,
      onChange: () => this.#outboxChanged(),
    });
    this.notifier = new Notifier({ i18n: options.i18n, open: (id) => options.navigate(`/c/${id}`) });
    this.#sync = new EventSync({
      api: this.api,
      handler: {
        conversations: (list, askedAt) => this.store.setConversations(list, askedAt),
        wantsHistory: (id) => this.store.thread(id) !== undefined,
        event: (event) => {
          this.store.applyEvent(event);
          this.calls.onEvent(event);
        },
        discover: (id) => this.#discover(id),
        removed: (id) => this.store.removeConversation(id),
        live: (live) => this.#liveChanged(live),
      },
    });
    this.calls = new CallManager({
      session: this,
      rtcRequest: (frame) => this.#socket.request({ type: 'rtc', ...frame }),
      rtcSend: (frame) => this.#socket.send({ type: 'rtc', ...frame }),
    });
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#socket = new RealtimeSocket({
      url: `${scheme}//${location.host}/api/v1/ws`,
      onHello: () => {
        this.#watched = '';
        this.calls.reconnected();
        this.#sendPresence();
        void this.#sync.connected();
      },
      onFrame: (frame) => this.#onFrame(frame),
      onState: (state) => {
        if (state === 'ended') {
          this.#options.sessionEnded();
          return;
        }
        if (state !== 'open') this.#sync.disconnected();
      },
      onFailedAttempt: () => void this.#checkSignedIn(),
    });

    this.#cleanup.push(
      this.store.on('conversations', () => {
        this.#scheduleWatch();
        this.#learnNames();
      }),
      this.store.on('incoming', (message) => this.#incoming(message)),
      this.store.on('members-stale', (id) => void this.#loadMembers(id)),
      this.store.on('thread', (id) => this.#dropDelivered(id)),
    );
    const onVisibility = () => this.#sendPresence();
    document.addEventListener('visibilitychange', onVisibility);
    this.#cleanup.push(() => document.removeEventListener('visibilitychange', onVisibility));
  }

  /** Loads the list (so it shows even before the socket is up) and connects. */
  async start() {
    try {
      const askedAt = Date.now();
      const list = await this.api.allConversations();
      if (this.#stopped) return;
      this.#sync.seed(list);
      this.store.setConversations(list, askedAt);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.#options.sessionEnded();
        return;
      }
      // The socket's catching up will read the list again.
    }
    if (!this.#stopped) this.#socket.start();
  }

  /** Disconnects for good (signing out). */
  stop() {
    this.#stopped = true;
    this.calls.stop();
    this.#socket.stop();
    this.#sync.disconnected();
    this.notifier.stop();
    window.clearTimeout(this.#watchTimer);
    window.clearTimeout(this.#flushTimer);
    for (const cleanup of this.#cleanup) cleanup();
    for (const listener of this.#stopListeners) listener();
    this.#stopListeners.clear();
  }

  /**
   * @param {() => void} listener hears when the session stops, to take
   *   down what was built on it
   */
  onStop(listener) {
    this.#stopListeners.add(listener);
  }

  // Connection state.

  /** @returns {ConnectionState} */
  get connection() {
    return this.#connection;
  }

  /**
   * @param {(state: ConnectionState) => void} listener
   * @returns {() => void}
   */
  onConnection(listener) {
    this.#connectionListeners.add(listener);
    return () => this.#connectionListeners.delete(listener);
  }

  /** @param {boolean} live */
  #liveChanged(live) {
    /** @type {ConnectionState} */
    const state = live ? 'online' : this.#connection === 'connecting' ? 'connecting' : 'reconnecting';
    if (live) {
      this.#flushOutbox();
      this.#scheduleWatch();
      this.#refreshOpenThread();
    }
    if (state === this.#connection) return;
    this.#connection = state;
    for (const listener of this.#connectionListeners) listener(state);
  }

  /** A failed handshake may mean the session ended; the REST API can say. */
  async #checkSignedIn() {
    try {
      const me = await this.api.me();
      if (me === null && !this.#stopped) {
        this.#socket.end();
      }
    } catch {
      // Unreachable: keep trying to reconnect.
    }
  }

  /** @param {ServerFrame} frame */
  #onFrame(frame) {
    switch (frame.type) {
      case 'event':
        if (frame.event && typeof frame.event === 'object') this.#sync.receive(frame.event);
        break;
      case 'receipt':
        if (frame.receipt) this.store.applyReceipt(frame.receipt);
        break;
      case 'typing':
        if (frame.typing) this.store.applyTyping(frame.typing);
        break;
      case 'presence':
        if (frame.presence) this.store.setPresence([frame.presence]);
        break;
      case 'call':
        if (frame.call && typeof frame.call === 'object') this.calls.onCall(frame.call);
        break;
      case 'rtc':
        this.calls.onRtc(frame);
        break;
      default:
        // pong, and frame types of later protocol versions.
        break;
    }
  }

  /**
   * @param {string} id
   * @returns {Promise<Conversation | null>}
   */
  async #discover(id) {
    try {
      const conversation = await this.api.conversation(id);
      this.store.upsertConversation(conversation);
      return conversation;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  // Presence.

  #sendPresence() {
    this.#socket.send({ type: 'presence', status: document.visibilityState === 'hidden' ? 'away' : 'active' });
  }

  /** Follows the presence of every direct peer; the server forgets on reconnect. */
  #scheduleWatch() {
    window.clearTimeout(this.#watchTimer);
    this.#watchTimer = window.setTimeout(() => void this.#watch(), 50);
  }

  async #watch() {
    if (!this.#sync.live) return;
    const peers = this.store.directPeers().sort();
    const key = peers.join(',');
    if (key === this.#watched) return;
    this.#watched = key;
    try {
      const ack = await this.#socket.request({ type: 'watch', user_ids: peers });
      if (Array.isArray(ack.presence)) this.store.setPresence(ack.presence);
    } catch {
      this.#watched = '';
    }
  }

  /**
   * A group's latest message in the list says who wrote it; messages carry
   * only the sender's id, so the names come from the members.
   */
  #learnNames() {
    for (const conversation of this.store.conversations()) {
      const sender = conversation.last_message?.sender_id;
      if (conversation.kind !== 'group' || !sender || this.store.nameOf(sender) !== undefined) continue;
      if (this.#namesAsked.has(conversation.id)) continue;
      this.#namesAsked.add(conversation.id);
      this.api.members(conversation.id)
        .then(({ items }) => this.store.rememberNames(items))
        .catch(() => this.#namesAsked.delete(conversation.id));
    }
  }

  // Threads.

  /**
   * The conversation now on screen (null for none); it is the one marked
   * read and not notified about.
   * @param {string | null} id
   */
  setActive(id) {
    this.#activeId = id;
  }

  get activeId() {
    return this.#activeId;
  }

  /**
   * Makes sure the conversation's newest messages and members are loaded.
   * @param {string} id
   * @returns {Promise<boolean>} false when it is not the person's
   */
  async openThread(id) {
    if (!this.store.conversation(id)) {
      try {
        const conversation = await this.#discover(id);
        if (!conversation) return false;
      } catch {
        return false;
      }
    }
    const thread = this.store.openThread(id);
    const tasks = [];
    if (thread.status !== 'ready') tasks.push(this.#loadNewest(id));
    if (!thread.members) tasks.push(this.#loadMembers(id));
    await Promise.all(tasks);
    return true;
  }

  /** @param {string} id */
  async #loadNewest(id) {
    this.store.setThreadState(id, { status: 'loading' });
    try {
      const page = await this.api.messages(id, { before: end, limit: pageSize });
      this.store.addPage(id, page.items, { hasOlder: page.more, newest: true });
      void this.#loadCalls(id, page.more && page.items.length > 0 ? page.items[0].seq : 0, 0);
    } catch (error) {
      this.store.setThreadState(id, { status: 'failed' });
      if (error instanceof ApiError && error.status === 404) this.store.removeConversation(id);
    }
  }

  /**
   * Reads the calls that ended in a stretch of history (after the seq
   * `from`, before `to`; 0 for no bound): "missed call" and "call, 4 min"
   * lines among the messages. Live ones arrive as events.
   * @param {string} id
   * @param {number} from
   * @param {number} to
   */
  async #loadCalls(id, from, to) {
    try {
      const page = await this.api.callHistory(id, Math.max(0, from - 1), to);
      this.store.addCalls(id, page.items);
    } catch {
      // The thread works without them; the next load reads them again.
    }
  }

  /** @param {string} id */
  async #loadMembers(id) {
    if (!this.store.thread(id)) return;
    try {
      const { items } = await this.api.members(id);
      this.store.setMembers(id, items);
    } catch {
      // Names fall back to "someone"; the next reconnect reads them again.
    }
  }

  /**
   * After a reconnection, read cursors and members are state, not history
   * (docs/PROTOCOL.md): read them again for the thread on screen.
   */
  #refreshOpenThread() {
    const id = this.#activeId;
    if (!id || !this.store.thread(id)) return;
    void this.#loadMembers(id);
    if (this.store.thread(id)?.status === 'failed') void this.#loadNewest(id);
  }

  /**
   * Loads the page before the oldest message held.
   * @param {string} id
   * @param {number} [limit]
   * @returns {Promise<void>}
   */
  async loadOlder(id, limit = pageSize) {
    const thread = this.store.thread(id);
    if (!thread || thread.status !== 'ready' || !thread.hasOlder || thread.loadingOlder) return;
    this.store.setThreadState(id, { loadingOlder: true });
    try {
      const before = thread.oldestSeq;
      const page = await this.api.messages(id, { before, limit });
      this.store.addPage(id, page.items, { hasOlder: page.more });
      void this.#loadCalls(id, page.more && page.items.length > 0 ? page.items[0].seq : 0, before);
    } finally {
      this.store.setThreadState(id, { loadingOlder: false });
    }
  }

  /**
   * Loads back until the message with seq is held (a search result).
   * @param {string} id
   * @param {number} seq
   */
  async loadUntil(id, seq) {
    await this.openThread(id);
    for (;;) {
      const thread = this.store.thread(id);
      if (!thread || !thread.hasOlder || thread.oldestSeq <= seq) return;
      await this.loadOlder(id, 200);
    }
  }

  /**
   * Marks the conversation read to its end, if it is not already.
   * @param {string} id
   */
  markRead(id) {
    const conversation = this.store.conversation(id);
    if (!conversation) return;
    // Only messages count as unread; reading to the latest one is enough,
    // and a reaction does not need a receipt.
    const seq = conversation.last_message?.seq ?? conversation.last_seq;
    if (seq <= conversation.read_seq && conversation.unread === 0) return;
    this.store.markRead(id, seq);
    const request = this.#sync.live
      ? this.#socket.request({ type: 'read', conversation_id: id, seq })
      : this.api.markRead(id, seq);
    request.catch(() => {
      // The cursor moves again the next time the thread is looked at.
    });
  }

  /**
   * Tells the others that the person is typing, at most every few seconds.
   * @param {string} id
   */
  typing(id) {
    const now = Date.now();
    if (now - (this.#typingSent.get(id) ?? 0) < typingEveryMs) return;
    if (this.#socket.send({ type: 'typing', conversation_id: id })) this.#typingSent.set(id, now);
  }

  // Sending.

  /**
   * Puts a message in the outbox and sends it when the connection allows.
   * @param {string} id
   * @param {{ body: string, replyTo?: string, attachments?: Attachment[] }} message
   */
  send(id, { body, replyTo, attachments = [] }) {
    this.outbox.add({ conversation_id: id, body, reply_to: replyTo, attachments });
    this.#typingSent.delete(id);
    this.#flushOutbox();
  }

  #flushOutbox() {
    window.clearTimeout(this.#flushTimer);
    if (!this.#sync.live) return;
    void this.outbox.flush(
      async (entry) => {
        const ack = await this.#socket.request({
          type: 'send',
          conversation_id: entry.conversation_id,
          client_id: entry.client_id,
          body: entry.body,
          ...(entry.reply_to ? { reply_to: entry.reply_to } : {}),
          ...(entry.attachments.length > 0 ? { attachments: entry.attachments.map((attachment) => attachment.id) } : {}),
        });
        return /** @type {Message} */ (ack.message);
      },
      (error) => this.#permanentFailure(error),
      (message) => this.store.upsertMessage(message),
    ).then(() => {
      // Something is still waiting (a dropped frame): try again shortly.
      if (this.#sync.live && this.outbox.entries().some((entry) => entry.state === 'waiting')) {
        this.#flushTimer = window.setTimeout(() => this.#flushOutbox(), 2000);
      }
    });
  }

  /**
   * @param {unknown} error
   * @returns {string | null} why the message cannot be sent, or null to retry
   */
  #permanentFailure(error) {
    if (error instanceof NotConnectedError) return null;
    if (error instanceof FrameError) {
      if (error.code === 'rate-limited' || error.code === 'internal') return null;
      const details = error.errors.map((field) => field.detail).filter(Boolean);
      return details.length > 0 ? details.join('; ') : error.message;
    }
    return null;
  }

  /**
   * Once the server has a message, its outbox entry has done its job,
   * whether or not the ack arrived.
   * @param {string} id
   */
  #dropDelivered(id) {
    const waiting = this.outbox.entries(id);
    if (waiting.length === 0) return;
    const stored = new Set(this.store.messages(id)
      .filter((message) => message.sender_id === this.user.id)
      .map((message) => message.client_id));
    for (const entry of waiting) {
      if (stored.has(entry.client_id) && entry.state !== 'sending') this.outbox.remove(entry.client_id);
    }
  }

  /**
   * @param {(() => void)} listener hears every change of the outbox
   * @returns {() => void}
   */
  onOutbox(listener) {
    this.#outboxListeners.add(listener);
    return () => this.#outboxListeners.delete(listener);
  }

  #outboxChanged() {
    for (const listener of this.#outboxListeners) listener();
  }

  /** @param {string} clientId */
  retry(clientId) {
    this.outbox.retry(clientId);
    this.#flushOutbox();
  }

  /** @param {string} clientId */
  discard(clientId) {
    this.outbox.remove(clientId);
  }

  /**
   * @param {string} id
   * @param {string} messageId
   * @param {string} body
   */
  async edit(id, messageId, body) {
    const message = await this.api.editMessage(id, messageId, body);
    this.store.upsertMessage(message);
  }

  /**
   * @param {string} id
   * @param {string} messageId
   */
  async deleteMessage(id, messageId) {
    await this.api.deleteMessage(id, messageId);
  }

  /**
   * Adds the person's emoji, or takes it back when it is there.
   * @param {string} id
   * @param {Message} message
   * @param {string} emoji
   */
  async toggleReaction(id, message, emoji) {
    const mine = message.reactions.some((reaction) =>
      reaction.emoji === emoji && reaction.user_ids.includes(this.user.id));
    await this.api.react(id, message.id, emoji, !mine);
  }

  /**
   * @param {string} id
   * @param {File} file
   * @param {AbortSignal} [signal]
   * @returns {Promise<Attachment>}
   */
  upload(id, file, signal) {
    return this.api.upload(id, file, signal);
  }

  // Starting conversations.

  /**
   * @param {string} query
   * @returns {Promise<UserHit[]>} people other than the person
   */
  async findPeople(query) {
    const { items } = await this.api.searchUsers(query, { limit: 20 });
    for (const hit of items) this.store.rememberName(hit.id, hit.name);
    return items.filter((hit) => hit.id !== this.user.id);
  }

  /**
   * @param {{ kind: 'direct', user_id: string } | { kind: 'group', title: string, members: string[] }} input
   * @returns {Promise<Conversation>}
   */
  async createConversation(input) {
    const conversation = await this.api.createConversation(input);
    this.store.upsertConversation(conversation);
    return conversation;
  }

  /**
   * @param {string} query
   * @returns {Promise<Message[]>}
   */
  async searchMessages(query) {
    const { items } = await this.api.searchMessages(query, { limit: 50 });
    return items;
  }

  // Notifications.

  /** @param {Message} message */
  #incoming(message) {
    const conversation = this.store.conversation(message.conversation_id);
    if (!conversation) return;
    const sender = this.store.nameOf(message.sender_id) ?? this.i18n.t('message.someone');
    const title = this.conversationTitle(conversation);
    const preview = messagePreview(message, this.i18n);
    this.notifier.notify({
      conversationId: conversation.id,
      title,
      text: conversation.kind === 'group' ? `${sender}: ${preview}` : preview,
      viewing: this.#activeId === conversation.id,
    });
  }

  /**
   * What a conversation is called: a group's title, a direct
   * conversation's other person.
   * @param {Conversation} conversation
   * @returns {string}
   */
  conversationTitle(conversation) {
    if (conversation.kind === 'group') return conversation.title;
    if (conversation.peer) return conversation.peer.name;
    return this.i18n.t('conversation.notesToSelf');
  }
}
