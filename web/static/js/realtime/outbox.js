// Messages on their way out. Each gets its client_id when written and
// keeps it until the server has stored it: a retry after a lost
// connection (or a reload, or a browser restart: the outbox lives in
// localStorage) sends the same client_id, which the server answers with
// the message it already has instead of storing it twice.

/** @typedef {import('../api.js').Attachment} Attachment */
/** @typedef {import('../api.js').Message} Message */

/**
 * @typedef {Object} OutboxEntry
 * @property {string} client_id
 * @property {string} conversation_id
 * @property {string} body
 * @property {string} [reply_to]
 * @property {Attachment[]} attachments uploaded already; sent by id
 * @property {string} created_at
 * @property {'waiting' | 'sending' | 'failed'} state
 * @property {string} [error] why it failed, for the person
 */

/**
 * A client id the server accepts (1–64 of A–Z a–z 0–9 . _ : -). Built from
 * getRandomValues, which, unlike randomUUID, also works on plain http.
 * @returns {string}
 */
export function newClientId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `web-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

export class Outbox {
  /** @type {Storage | null} */
  #storage;
  /** @type {string} */
  #key;
  /** @type {OutboxEntry[]} */
  #entries = [];
  /** @type {() => void} */
  #onChange;
  #flushing = false;
  #flushAgain = false;

  /**
   * @param {{ storage: Storage | null, key: string, onChange: () => void }} options
   *   key names this person's outbox in storage
   */
  constructor({ storage, key, onChange }) {
    this.#storage = storage;
    this.#key = key;
    this.#onChange = onChange;
    this.#entries = this.#load();
  }

  /**
   * @param {string} [conversationId] only that conversation's
   * @returns {OutboxEntry[]} oldest first
   */
  entries(conversationId) {
    return conversationId === undefined
      ? [...this.#entries]
      : this.#entries.filter((entry) => entry.conversation_id === conversationId);
  }

  /**
   * @param {{ conversation_id: string, body: string, reply_to?: string, attachments?: Attachment[] }} message
   * @returns {OutboxEntry}
   */
  add({ conversation_id, body, reply_to, attachments = [] }) {
    /** @type {OutboxEntry} */
    const entry = {
      client_id: newClientId(),
      conversation_id,
      body,
      attachments,
      created_at: new Date().toISOString(),
      state: 'waiting',
    };
    if (reply_to) entry.reply_to = reply_to;
    this.#entries.push(entry);
    this.#changed();
    return entry;
  }

  /**
   * Forgets an entry: it was stored, or the person gave up on it.
   * @param {string} clientId
   */
  remove(clientId) {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((entry) => entry.client_id !== clientId);
    if (this.#entries.length !== before) this.#changed();
  }

  /**
   * Puts a failed entry back in line.
   * @param {string} clientId
   */
  retry(clientId) {
    const entry = this.#entries.find((candidate) => candidate.client_id === clientId);
    if (!entry || entry.state !== 'failed') return;
    entry.state = 'waiting';
    delete entry.error;
    this.#changed();
  }

  /** Forgets everything (signing out). */
  clear() {
    this.#entries = [];
    this.#changed();
  }

  /**
   * Sends the waiting entries, oldest first, one at a time so that a
   * conversation gets them in the order they were written. A failure the
   * server will repeat (a rule broken) marks that entry failed and goes
   * on; any other failure (the connection) stops until the next flush.
   * @param {(entry: OutboxEntry) => Promise<Message>} send
   * @param {(error: unknown) => string | null} permanent
   *   the reason to show when error will not go away by retrying, else null
   * @param {(message: Message, entry: OutboxEntry) => void} sent
   */
  async flush(send, permanent, sent) {
    if (this.#flushing) {
      this.#flushAgain = true;
      return;
    }
    this.#flushing = true;
    try {
      do {
        this.#flushAgain = false;
        for (;;) {
          const entry = this.#entries.find((candidate) => candidate.state === 'waiting');
          if (!entry) break;
          entry.state = 'sending';
          this.#onChange();
          try {
            const message = await send(entry);
            this.remove(entry.client_id);
            sent(message, entry);
          } catch (error) {
            const reason = permanent(error);
            if (!this.#entries.includes(entry)) continue;
            if (reason === null) {
              entry.state = 'waiting';
              this.#onChange();
              return;
            }
            entry.state = 'failed';
            entry.error = reason;
            this.#changed();
          }
        }
      } while (this.#flushAgain);
    } finally {
      this.#flushing = false;
    }
  }

  #changed() {
    this.#save();
    this.#onChange();
  }

  /** @returns {OutboxEntry[]} */
  #load() {
    try {
      const raw = this.#storage?.getItem(this.#key);
      if (!raw) return [];
      const parsed = JSON.parse(raw);
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(isEntry).map((entry) =>
        // A send cut off by closing the page may or may not have arrived;
        // the client_id makes sending it again safe.
        (entry.state === 'sending' ? { ...entry, state: 'waiting' } : entry));
    } catch {
      return [];
    }
  }

  #save() {
    try {
      if (this.#entries.length === 0) this.#storage?.removeItem(this.#key);
      else this.#storage?.setItem(this.#key, JSON.stringify(this.#entries));
    } catch {
      // Full or forbidden storage: the outbox then lasts as long as the page.
    }
  }
}

/**
 * @param {unknown} value
 * @returns {value is OutboxEntry}
 */
function isEntry(value) {
  if (!value || typeof value !== 'object') return false;
  const entry = /** @type {Record<string, unknown>} */ (value);
  return typeof entry.client_id === 'string' && typeof entry.conversation_id === 'string'
    && typeof entry.body === 'string' && Array.isArray(entry.attachments)
    && (entry.state === 'waiting' || entry.state === 'sending' || entry.state === 'failed');
}
