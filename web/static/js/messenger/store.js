// What this device knows of the messenger: the conversation list with
// each one's unread count and latest message, the threads that have been
// opened (a window of their newest messages, growing backwards as the
// person scrolls), members and their read cursors, who is typing and who
// is online. Events change it (applyEvent); views listen to its topics and
// redraw.

/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('../api.js').ConversationEvent} ConversationEvent */
/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').Member} Member */
/** @typedef {import('../api.js').Reaction} Reaction */
/** @typedef {import('../components/avatar.js').PresenceStatus} PresenceStatus */

/**
 * @typedef {Object} Thread
 * @property {Map<string, Message>} messages by id
 * @property {'loading' | 'ready' | 'failed'} status of the first page
 * @property {boolean} hasOlder messages before the oldest held exist
 * @property {boolean} loadingOlder
 * @property {number} oldestSeq of the messages held; Infinity before the first page
 * @property {Member[] | null} members with their read cursors
 * @property {Message[] | null} sorted a cache of messages in seq order
 * @property {Map<number, ConversationEvent>} calls ended calls shown among the messages, by seq
 */

/**
 * @typedef {Object} Presence
 * @property {PresenceStatus} status
 * @property {string} [last_seen]
 */

/**
 * The store's topics. conversations: the list changed; thread: a thread's
 * messages, members or cursors (detail: the conversation id); typing
 * (detail: the conversation id); presence; incoming: a new message from
 * someone else, live (detail: the message); removed: a conversation is no
 * longer the person's (detail: its id); members-stale: the membership
 * changed and the member list should be read again.
 * @typedef {'conversations' | 'thread' | 'typing' | 'presence' | 'incoming' | 'removed' | 'members-stale'} Topic
 */

/** How long a typing notice lasts when its own deadline is unusable. */
const typingTtlMs = 6000;

export class MessengerStore {
  /** @type {string} */
  me;
  /** @type {Map<string, Conversation>} */
  #conversations = new Map();
  /** @type {Map<string, Thread>} */
  #threads = new Map();
  /** @type {Map<string, Presence>} */
  #presence = new Map();
  /** @type {Map<string, Map<string, number>>} conversation → user → until (ms) */
  #typing = new Map();
  /** @type {number | undefined} */
  #typingTimer;
  /** @type {Map<string, number>} when each conversation was last put here */
  #putAt = new Map();
  /** @type {Map<string, string>} user id → name, from every source */
  #names = new Map();
  /** @type {Map<Topic, Set<(detail: any) => void>>} */
  #listeners = new Map();

  /** @param {{ id: string, name: string }} me */
  constructor(me) {
    this.me = me.id;
    this.#names.set(me.id, me.name);
  }

  /**
   * @param {Topic} topic
   * @param {(detail: any) => void} listener
   * @returns {() => void} unsubscribes
   */
  on(topic, listener) {
    let set = this.#listeners.get(topic);
    if (!set) {
      set = new Set();
      this.#listeners.set(topic, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @param {Topic} topic
   * @param {unknown} [detail]
   */
  #emit(topic, detail) {
    for (const listener of this.#listeners.get(topic) ?? []) listener(detail);
  }

  // The conversation list.

  /**
   * Most recently active first.
   * @returns {Conversation[]}
   */
  conversations() {
    return [...this.#conversations.values()].sort((a, b) =>
      Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at) || b.id.localeCompare(a.id));
  }

  /**
   * @param {string} id
   * @returns {Conversation | undefined}
   */
  conversation(id) {
    return this.#conversations.get(id);
  }

  /**
   * Replaces the list with the server's, keeping any conversation this
   * device has seen further along than the list, or learnt of after the
   * list was asked for.
   * @param {Conversation[]} list
   * @param {number} [askedAt] when the list was requested (Date.now())
   */
  setConversations(list, askedAt = Infinity) {
    const listed = new Set(list.map((conversation) => conversation.id));
    for (const id of [...this.#conversations.keys()]) {
      if (!listed.has(id) && (this.#putAt.get(id) ?? 0) < askedAt) this.#remove(id);
    }
    for (const conversation of list) this.#put(conversation);
    this.#emit('conversations');
  }

  /** @param {Conversation} conversation */
  upsertConversation(conversation) {
    this.#put(conversation);
    this.#emit('conversations');
  }

  /** @param {Conversation} incoming */
  #put(incoming) {
    const known = this.#conversations.get(incoming.id);
    if (known && known.last_seq > incoming.last_seq) return;
    this.#conversations.set(incoming.id, { ...incoming });
    this.#putAt.set(incoming.id, Date.now());
    if (incoming.peer) this.#names.set(incoming.peer.id, incoming.peer.name);
  }

  /** @param {string} id */
  removeConversation(id) {
    if (!this.#conversations.has(id)) return;
    this.#remove(id);
    this.#emit('conversations');
  }

  /** @param {string} id */
  #remove(id) {
    this.#conversations.delete(id);
    this.#putAt.delete(id);
    this.#threads.delete(id);
    this.#typing.delete(id);
    this.#emit('removed', id);
  }

  /**
   * The peers of direct conversations: the people whose presence to show.
   * @returns {string[]}
   */
  directPeers() {
    const peers = new Set();
    for (const conversation of this.#conversations.values()) {
      if (conversation.peer) peers.add(conversation.peer.id);
    }
    return [...peers];
  }

  /**
   * Moves the person's own read cursor (this device read the thread).
   * @param {string} id
   * @param {number} seq
   */
  markRead(id, seq) {
    const conversation = this.#conversations.get(id);
    if (!conversation) return;
    if (seq <= conversation.read_seq && conversation.unread === 0) return;
    conversation.read_seq = Math.max(conversation.read_seq, seq);
    // Read past the latest message: nothing is unread. Else only a thread
    // held here can say how many are left.
    const lastMessage = conversation.last_message?.seq ?? 0;
    conversation.unread = lastMessage <= conversation.read_seq ? 0 : this.#countUnread(id, conversation);
    this.#setMemberCursor(id, this.me, conversation.read_seq);
    this.#emit('conversations');
  }

  // Events.

  /**
   * Applies one event, in seq order (sync.js sees to that).
   * @param {ConversationEvent} event
   */
  applyEvent(event) {
    const id = event.conversation_id;
    const conversation = this.#conversations.get(id);
    if (!conversation) return;
    // The list's summary may already include this event (it was read after
    // the event happened); its counters move only for newer events.
    const fresh = event.seq > conversation.last_seq;
    if (fresh) conversation.last_seq = event.seq;
    const thread = this.#threads.get(id);
    switch (event.type) {
      case 'message.created':
      case 'message.edited':
      case 'message.deleted': {
        const message = event.message;
        if (!message) break;
        if (fresh) this.#countMessage(conversation, event, message);
        const last = conversation.last_message;
        if (!last || message.seq > last.seq || (message.id === last.id && fresh)) conversation.last_message = message;
        if (thread) this.#upsert(thread, message);
        if (event.type === 'message.created' && message.sender_id !== this.me) {
          this.#stopTyping(id, message.sender_id);
          if (fresh) this.#emit('incoming', message);
        }
        break;
      }
      case 'call.ended':
        if (thread && event.call) {
          thread.calls.set(event.seq, event);
          this.#emit('thread', id);
        }
        break;
      case 'reaction.added':
      case 'reaction.removed':
        if (thread && event.message_id && event.user_id && event.emoji) {
          this.#react(thread, event.message_id, event.emoji, event.user_id, event.type === 'reaction.added');
        }
        break;
      case 'conversation.updated':
        if (event.title) conversation.title = event.title;
        break;
      case 'member.added':
        if (fresh) {
          conversation.member_count += 1;
          conversation.last_activity_at = event.at;
        }
        this.#emit('members-stale', id);
        break;
      case 'member.removed':
        if (event.user_id === this.me) {
          this.removeConversation(id);
          return;
        }
        if (fresh) conversation.member_count = Math.max(1, conversation.member_count - 1);
        this.#emit('members-stale', id);
        break;
      case 'member.updated':
        this.#emit('members-stale', id);
        break;
      default:
        // New event types may come; they change nothing shown here.
        break;
    }
    this.#emit('conversations');
    if (thread) this.#emit('thread', id);
  }

  /**
   * Keeps unread and activity right for a message event newer than the
   * summary.
   * @param {Conversation} conversation
   * @param {ConversationEvent} event
   * @param {Message} message
   */
  #countMessage(conversation, event, message) {
    const mine = message.sender_id === this.me;
    if (event.type === 'message.created') {
      conversation.last_activity_at = event.at;
      if (mine) {
        // Sending moves the sender's own read cursor to the message.
        conversation.read_seq = Math.max(conversation.read_seq, message.seq);
        conversation.unread = 0;
      } else if (!message.deleted && message.seq > conversation.read_seq) {
        conversation.unread += 1;
      }
    } else if (event.type === 'message.deleted' && !mine && message.seq > conversation.read_seq) {
      conversation.unread = Math.max(0, conversation.unread - 1);
    }
  }

  /**
   * A member's read cursor moved (a receipt).
   * @param {{ conversation_id: string, user_id: string, read_seq: number }} receipt
   */
  applyReceipt({ conversation_id: id, user_id: userId, read_seq: readSeq }) {
    if (userId === this.me) {
      this.markRead(id, readSeq);
      return;
    }
    if (this.#setMemberCursor(id, userId, readSeq)) this.#emit('thread', id);
  }

  /**
   * @param {string} id
   * @param {string} userId
   * @param {number} readSeq
   * @returns {boolean} whether anything changed
   */
  #setMemberCursor(id, userId, readSeq) {
    const member = this.#threads.get(id)?.members?.find((candidate) => candidate.user_id === userId);
    if (!member || member.read_seq >= readSeq) return false;
    member.read_seq = readSeq;
    return true;
  }

  /**
   * Unread messages among those held, for when the cursor moved to the
   * middle of a thread.
   * @param {string} id
   * @param {Conversation} conversation
   * @returns {number}
   */
  #countUnread(id, conversation) {
    const thread = this.#threads.get(id);
    if (!thread) return conversation.unread;
    return this.messages(id).filter((message) =>
      message.seq > conversation.read_seq && message.sender_id !== this.me && !message.deleted).length;
  }

  // Threads.

  /**
   * @param {string} id
   * @returns {Thread | undefined}
   */
  thread(id) {
    return this.#threads.get(id);
  }

  /**
   * The thread, made empty and loading when it was not held yet. From
   * then on events for the conversation land in it.
   * @param {string} id
   * @returns {Thread}
   */
  openThread(id) {
    let thread = this.#threads.get(id);
    if (!thread) {
      thread = {
        messages: new Map(), status: 'loading', hasOlder: true, loadingOlder: false,
        oldestSeq: Infinity, members: null, sorted: null, calls: new Map(),
      };
      this.#threads.set(id, thread);
    }
    return thread;
  }

  /**
   * @param {string} id
   * @param {Partial<Pick<Thread, 'status' | 'loadingOlder'>>} changes
   */
  setThreadState(id, changes) {
    const thread = this.#threads.get(id);
    if (!thread) return;
    Object.assign(thread, changes);
    this.#emit('thread', id);
  }

  /**
   * Adds a page of messages read from the server.
   * @param {string} id
   * @param {Message[]} items in seq order
   * @param {{ hasOlder: boolean, newest?: boolean }} page newest: the
   *   thread's first page (its newest messages); else an older page
   */
  addPage(id, items, { hasOlder, newest = false }) {
    const thread = this.#threads.get(id);
    if (!thread) return;
    const oldest = items.length > 0 ? items[0].seq : Infinity;
    if (newest) {
      // Events that arrived while the page loaded were kept; any older
      // than the page would leave a hole in the window, so they go.
      if (hasOlder) {
        for (const [key, message] of thread.messages) {
          if (message.seq < oldest) thread.messages.delete(key);
        }
      }
      thread.status = 'ready';
    }
    thread.hasOlder = hasOlder;
    thread.oldestSeq = Math.min(thread.oldestSeq, oldest);
    for (const message of items) this.#merge(thread, message);
    if (!hasOlder && items.length === 0 && thread.messages.size === 0) thread.oldestSeq = 0;
    thread.sorted = null;
    this.#emit('thread', id);
  }

  /**
   * Ended calls read for a stretch of the thread's history.
   * @param {string} id
   * @param {ConversationEvent[]} events
   */
  addCalls(id, events) {
    const thread = this.#threads.get(id);
    if (!thread || events.length === 0) return;
    for (const event of events) if (event.call) thread.calls.set(event.seq, event);
    this.#emit('thread', id);
  }

  /**
   * The ended calls held for a thread, in seq order.
   * @param {string} id
   * @returns {ConversationEvent[]}
   */
  calls(id) {
    const thread = this.#threads.get(id);
    return thread ? [...thread.calls.values()].sort((a, b) => a.seq - b.seq) : [];
  }

  /**
   * A message known from an answer (the ack of a send, an edit) before its
   * event arrives.
   * @param {Message} message
   */
  upsertMessage(message) {
    const thread = this.#threads.get(message.conversation_id);
    if (!thread) return;
    this.#upsert(thread, message);
    this.#emit('thread', message.conversation_id);
  }

  /**
   * @param {Thread} thread
   * @param {Message} message
   */
  #upsert(thread, message) {
    // Outside the window (an edit of a message not loaded yet): loading
    // that page later brings it as it is then.
    if (thread.status === 'ready' && thread.hasOlder && message.seq < thread.oldestSeq) return;
    this.#merge(thread, message);
    thread.sorted = null;
  }

  /**
   * Keeps the newer of two states of a message: a deletion is final, and
   * a later edit beats an earlier one.
   * @param {Thread} thread
   * @param {Message} incoming
   */
  #merge(thread, incoming) {
    const known = thread.messages.get(incoming.id);
    if (known) {
      if (known.deleted && !incoming.deleted) return;
      if (!incoming.deleted && known.edited_at && (!incoming.edited_at || Date.parse(incoming.edited_at) < Date.parse(known.edited_at))) return;
    }
    thread.messages.set(incoming.id, incoming);
  }

  /**
   * @param {Thread} thread
   * @param {string} messageId
   * @param {string} emoji
   * @param {string} userId
   * @param {boolean} add
   */
  #react(thread, messageId, emoji, userId, add) {
    const message = thread.messages.get(messageId);
    if (!message || message.deleted) return;
    /** @type {Reaction[]} */
    const reactions = message.reactions.map((reaction) => ({ ...reaction, user_ids: [...reaction.user_ids] }));
    const reaction = reactions.find((candidate) => candidate.emoji === emoji);
    if (add) {
      if (!reaction) reactions.push({ emoji, user_ids: [userId] });
      else if (!reaction.user_ids.includes(userId)) reaction.user_ids.push(userId);
    } else if (reaction) {
      reaction.user_ids = reaction.user_ids.filter((id) => id !== userId);
    }
    thread.messages.set(messageId, { ...message, reactions: reactions.filter((candidate) => candidate.user_ids.length > 0) });
    thread.sorted = null;
  }

  /**
   * The thread's messages held, in seq order.
   * @param {string} id
   * @returns {Message[]}
   */
  messages(id) {
    const thread = this.#threads.get(id);
    if (!thread) return [];
    thread.sorted ??= [...thread.messages.values()].sort((a, b) => a.seq - b.seq);
    return thread.sorted;
  }

  /**
   * @param {string} id
   * @param {Member[]} members
   */
  setMembers(id, members) {
    const thread = this.#threads.get(id);
    if (!thread) return;
    thread.members = members.map((member) => ({ ...member }));
    for (const member of members) this.#names.set(member.user_id, member.name);
    this.#emit('thread', id);
  }

  /**
   * @param {string} userId
   * @param {string} name
   */
  rememberName(userId, name) {
    this.#names.set(userId, name);
  }

  /**
   * Names learnt for the list's previews ("Ben: see you").
   * @param {{ user_id: string, name: string }[]} people
   */
  rememberNames(people) {
    for (const person of people) this.#names.set(person.user_id, person.name);
    this.#emit('conversations');
  }

  /**
   * @param {string} userId
   * @returns {string | undefined}
   */
  nameOf(userId) {
    return this.#names.get(userId);
  }

  // Typing.

  /**
   * Someone is typing; until is the server's deadline.
   * @param {{ conversation_id: string, user_id: string, until: string }} notice
   */
  applyTyping({ conversation_id: id, user_id: userId, until }) {
    if (userId === this.me || !this.#conversations.has(id)) return;
    const now = Date.now();
    const deadline = Date.parse(until);
    // Clocks differ between devices: a deadline in the past or too far
    // ahead is replaced by the protocol's usual lifetime.
    const end = Number.isFinite(deadline) && deadline > now && deadline - now <= typingTtlMs
      ? deadline : now + typingTtlMs;
    let users = this.#typing.get(id);
    if (!users) {
      users = new Map();
      this.#typing.set(id, users);
    }
    users.set(userId, end);
    this.#scheduleTypingExpiry();
    this.#emit('typing', id);
  }

  /**
   * @param {string} id
   * @param {string} userId
   */
  #stopTyping(id, userId) {
    if (this.#typing.get(id)?.delete(userId)) this.#emit('typing', id);
  }

  /**
   * Who is typing in a conversation now.
   * @param {string} id
   * @returns {string[]} user ids
   */
  typing(id) {
    const now = Date.now();
    return [...(this.#typing.get(id) ?? new Map()).entries()]
      .filter(([, until]) => until > now)
      .map(([userId]) => userId);
  }

  #scheduleTypingExpiry() {
    window.clearTimeout(this.#typingTimer);
    let next = Infinity;
    for (const users of this.#typing.values()) {
      for (const until of users.values()) next = Math.min(next, until);
    }
    if (next === Infinity) return;
    this.#typingTimer = window.setTimeout(() => {
      const now = Date.now();
      for (const [id, users] of this.#typing) {
        let changed = false;
        for (const [userId, until] of users) {
          if (until <= now) {
            users.delete(userId);
            changed = true;
          }
        }
        if (changed) this.#emit('typing', id);
      }
      this.#scheduleTypingExpiry();
    }, Math.max(0, next - Date.now()) + 20);
  }

  // Presence.

  /**
   * @param {{ user_id: string, status: string, last_seen?: string }[]} statuses
   */
  setPresence(statuses) {
    for (const { user_id: userId, status, last_seen: lastSeen } of statuses) {
      if (status !== 'online' && status !== 'away' && status !== 'offline') continue;
      this.#presence.set(userId, lastSeen ? { status, last_seen: lastSeen } : { status });
    }
    this.#emit('presence');
  }

  /**
   * @param {string} userId
   * @returns {Presence | undefined}
   */
  presence(userId) {
    return this.#presence.get(userId);
  }
}
