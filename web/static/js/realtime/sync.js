// Never losing anything (docs/PROTOCOL.md, "cursors"): per conversation,
// the seq of the last event applied. Live events are applied in order and
// exactly once; a gap is filled from GET …/events before the event that
// revealed it; after every (re)connection the conversation list says which
// conversations moved on while the device was away.

import { ApiError } from '../api.js';

/** @typedef {import('../api.js').Api} Api */
/** @typedef {import('../api.js').Conversation} Conversation */
/** @typedef {import('../api.js').ConversationEvent} ConversationEvent */

/**
 * What the device does with what the sync learns.
 * @typedef {Object} SyncHandler
 * @property {(conversations: Conversation[], askedAt: number) => void} conversations
 *   the whole list, fresh after a (re)connection, and when it was asked for
 * @property {(id: string) => boolean} wantsHistory
 *   whether the device keeps more of the conversation than the list says
 *   (an open thread): its missed events are then fetched, not skipped
 * @property {(event: ConversationEvent) => void} event
 *   each event, in seq order, once
 * @property {(id: string) => Promise<Conversation | null>} discover
 *   a conversation the device did not know (just made, or the person was
 *   added); null when it cannot be read
 * @property {(id: string) => void} removed the person is no longer a member
 * @property {(live: boolean) => void} live
 *   true once caught up after a connection, false when it is lost
 */

/** How long to wait before trying again when catching up failed. */
const retryCatchUpMs = 3000;

export class EventSync {
  /** @type {Api} */
  #api;
  /** @type {SyncHandler} */
  #handler;
  /** @type {Map<string, number>} */
  #cursors = new Map();
  /** @type {Map<string, Promise<void>>} */
  #chains = new Map();
  /** Counts connections, so that work for a lost one stops. */
  #generation = 0;
  #live = false;
  /** @type {number | undefined} */
  #retryTimer;

  /** @param {{ api: Api, handler: SyncHandler }} parts */
  constructor({ api, handler }) {
    this.#api = api;
    this.#handler = handler;
  }

  get live() {
    return this.#live;
  }

  /**
   * The last seq applied for a conversation.
   * @param {string} id
   * @returns {number | undefined}
   */
  cursor(id) {
    return this.#cursors.get(id);
  }

  /**
   * Starts cursors from a list read before the socket was up; what the
   * list shows is applied already.
   * @param {Conversation[]} conversations
   */
  seed(conversations) {
    for (const conversation of conversations) {
      const cursor = this.#cursors.get(conversation.id) ?? 0;
      this.#cursors.set(conversation.id, Math.max(cursor, conversation.last_seq));
    }
  }

  /**
   * Catches up after the socket's hello: from then on every change reaches
   * the socket, so what the list shows now plus the live events leave no
   * gap.
   */
  async connected() {
    window.clearTimeout(this.#retryTimer);
    const generation = ++this.#generation;
    this.#setLive(false);
    const knownBefore = new Set(this.#cursors.keys());
    const askedAt = Date.now();
    /** @type {Conversation[]} */
    let list;
    try {
      list = await this.#api.allConversations();
    } catch (error) {
      this.#retryLater(generation, error);
      return;
    }
    if (generation !== this.#generation) return;
    this.#handler.conversations(list, askedAt);
    const listed = new Set(list.map((conversation) => conversation.id));
    for (const id of knownBefore) {
      if (!listed.has(id)) this.#forget(id);
    }
    try {
      await Promise.all(list.map((conversation) => this.#enqueue(conversation.id, async () => {
        const cursor = this.#cursors.get(conversation.id);
        if (cursor !== undefined && cursor >= conversation.last_seq) return;
        if (cursor === undefined || !this.#handler.wantsHistory(conversation.id)) {
          // The list's summary already says where the conversation stands.
          this.#cursors.set(conversation.id, conversation.last_seq);
          return;
        }
        await this.#fill(conversation.id, conversation.last_seq);
      }, true)));
    } catch (error) {
      this.#retryLater(generation, error);
      return;
    }
    if (generation === this.#generation) this.#setLive(true);
  }

  /** The socket is down: nothing is live until the next hello. */
  disconnected() {
    window.clearTimeout(this.#retryTimer);
    this.#generation += 1;
    this.#setLive(false);
  }

  /**
   * A live event from the socket.
   * @param {ConversationEvent} event
   */
  receive(event) {
    const id = event.conversation_id;
    void this.#enqueue(id, async () => {
      if (!this.#cursors.has(id)) {
        const conversation = await this.#handler.discover(id);
        if (!conversation) return;
        // What the conversation showed when read is applied already.
        if (!this.#cursors.has(id)) this.#cursors.set(id, conversation.last_seq);
      }
      const cursor = this.#cursors.get(id) ?? 0;
      if (event.seq <= cursor) return;
      if (event.seq > cursor + 1) await this.#fill(id, event.seq - 1);
      this.#deliver(event);
    });
  }

  /**
   * Makes sure the events up to seq are applied; for a thread that has
   * just been opened, or after the device saw a seq elsewhere.
   * @param {string} id
   * @param {number} seq
   * @returns {Promise<void>}
   */
  catchUpTo(id, seq) {
    return this.#enqueue(id, async () => {
      if (!this.#cursors.has(id)) return;
      await this.#fill(id, seq);
    }, true);
  }

  /**
   * Fetches and applies the conversation's events after its cursor up to
   * and including upTo.
   * @param {string} id
   * @param {number} upTo
   */
  async #fill(id, upTo) {
    while ((this.#cursors.get(id) ?? 0) < upTo) {
      const after = this.#cursors.get(id) ?? 0;
      /** @type {import('../api.js').SeqPage<ConversationEvent>} */
      let page;
      try {
        page = await this.#api.events(id, after, 500);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          this.#forget(id);
          return;
        }
        throw error;
      }
      for (const event of page.items) this.#deliver(event);
      if (!page.more || page.items.length === 0) return;
    }
  }

  /** @param {ConversationEvent} event */
  #deliver(event) {
    const id = event.conversation_id;
    if (!this.#cursors.has(id)) return;
    if (event.seq <= (this.#cursors.get(id) ?? 0)) return;
    this.#cursors.set(id, event.seq);
    this.#handler.event(event);
  }

  /** @param {string} id */
  #forget(id) {
    this.#cursors.delete(id);
    this.#handler.removed(id);
  }

  /**
   * Runs the conversation's tasks one after another, so that catching up
   * and live events never apply out of order.
   * @param {string} id
   * @param {() => Promise<void>} task
   * @param {boolean} [rethrow] whether the caller hears of a failure
   * @returns {Promise<void>}
   */
  #enqueue(id, task, rethrow = false) {
    const previous = this.#chains.get(id) ?? Promise.resolve();
    const generation = this.#generation;
    const run = previous.then(task);
    const settled = run.catch((error) => {
      // A failed gap fill leaves the cursor behind; catching up again
      // from it puts things right.
      if (!rethrow) this.#retryLater(generation, error);
    });
    this.#chains.set(id, settled);
    void settled.then(() => {
      if (this.#chains.get(id) === settled) this.#chains.delete(id);
    });
    return rethrow ? run : settled;
  }

  /**
   * @param {number} generation
   * @param {unknown} error
   */
  #retryLater(generation, error) {
    if (generation !== this.#generation) return;
    console.warn('parley: catching up failed; trying again', error);
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = window.setTimeout(() => {
      if (generation === this.#generation) void this.connected();
    }, retryCatchUpMs);
  }

  /** @param {boolean} live */
  #setLive(live) {
    if (live === this.#live) return;
    this.#live = live;
    this.#handler.live(live);
  }
}
