// The client of Parley's HTTP API (/api/v1). Same origin, cookie session,
// JSON bodies; failures arrive as RFC 9457 problems and are thrown as
// ApiError.

/**
 * @typedef {Object} Config
 * @property {'open' | 'invite' | 'closed'} signup_mode
 * @property {string} version
 * @property {boolean} setup true until the first account (the operator) exists
 */

/**
 * @typedef {Object} User
 * @property {string} id
 * @property {string} email
 * @property {string} name
 * @property {string} role admin, agent, expert or member
 * @property {string} created_at
 */

/**
 * @typedef {Object} Session
 * @property {string} id
 * @property {string} created_at
 * @property {string} last_seen_at
 * @property {string} expires_at
 * @property {string} user_agent
 * @property {string} ip
 * @property {boolean} current
 */

/**
 * @typedef {Object} Token
 * @property {string} id
 * @property {string} name
 * @property {string} prefix
 * @property {string} created_at
 * @property {string | null} [last_used_at]
 * @property {string | null} [expires_at]
 */

/** @typedef {Token & { token: string }} NewToken the secret is sent once */

/**
 * @typedef {Object} FieldError
 * @property {string} field
 * @property {string} detail
 */

/**
 * @typedef {Object} Problem
 * @property {string} [type]
 * @property {string} [title]
 * @property {number} [status]
 * @property {string} [detail]
 * @property {string} [request_id]
 * @property {FieldError[]} [errors]
 */

/**
 * @template T
 * @typedef {Object} List
 * @property {T[]} items
 */

/**
 * Someone found by a people search.
 * @typedef {Object} UserHit
 * @property {string} id
 * @property {string} name
 * @property {string} role
 * @property {string} [email] only for admins, or when the query was the whole address
 */

/**
 * @typedef {Object} Person
 * @property {string} id
 * @property {string} name
 */

/**
 * @typedef {Object} Attachment
 * @property {string} id
 * @property {string} name
 * @property {string} content_type
 * @property {number} size bytes
 * @property {number} [width] pixels, for raster images
 * @property {number} [height]
 */

/**
 * @typedef {Object} Reaction
 * @property {string} emoji
 * @property {string[]} user_ids in the order they reacted
 */

/**
 * A message as it is now; a deleted one is a tombstone (empty body, no
 * attachments or reactions).
 * @typedef {Object} Message
 * @property {string} id
 * @property {string} conversation_id
 * @property {number} seq
 * @property {string} sender_id
 * @property {string} client_id
 * @property {string} body
 * @property {string | null} reply_to
 * @property {string[]} mentions
 * @property {Attachment[]} attachments
 * @property {Reaction[]} reactions
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {boolean} deleted
 */

/**
 * A conversation as the signed-in member sees it.
 * @typedef {Object} Conversation
 * @property {string} id
 * @property {'direct' | 'group'} kind
 * @property {string} title empty for a direct conversation
 * @property {string} created_by
 * @property {string} created_at
 * @property {number} last_seq the seq of its latest change
 * @property {string} last_activity_at
 * @property {number} member_count
 * @property {number} read_seq the caller's read cursor
 * @property {number} unread messages of others after read_seq
 * @property {'admin' | 'member'} role
 * @property {Person} [peer] the other person of a direct conversation
 * @property {Message} [last_message]
 */

/**
 * @typedef {Object} Member
 * @property {string} user_id
 * @property {string} name
 * @property {'admin' | 'member'} role
 * @property {string} joined_at
 * @property {number} read_seq
 */

/**
 * One change of a conversation (docs/PROTOCOL.md); which optional fields
 * come depends on type.
 * @typedef {Object} ConversationEvent
 * @property {string} conversation_id
 * @property {number} seq
 * @property {string} type
 * @property {string} actor_id
 * @property {string} at
 * @property {Message} [message]
 * @property {string} [message_id]
 * @property {string} [user_id]
 * @property {string} [role]
 * @property {string} [emoji]
 * @property {string} [title]
 * @property {{ id: string, kind: string, reason?: string, duration?: number }} [call] of call.started and call.ended
 */

/**
 * One person's part in a call.
 * @typedef {Object} CallMember
 * @property {string} user_id
 * @property {'ringing' | 'joined' | 'left' | 'declined' | 'missed'} state
 * @property {'helper' | 'customer'} [role] in a one-way (help) call
 * @property {string | null} joined_at
 */

/**
 * A call in a conversation (docs/PROTOCOL.md, "Calls").
 * @typedef {Object} Call
 * @property {string} id
 * @property {string} conversation_id
 * @property {'voice' | 'video'} kind
 * @property {boolean} [one_way] a help call: roles decide who sends a camera
 * @property {'ringing' | 'active' | 'ended'} state
 * @property {string} started_by
 * @property {string} created_at
 * @property {string | null} answered_at
 * @property {string | null} ended_at
 * @property {string} [end_reason]
 * @property {CallMember[]} members
 */

/**
 * @template T
 * @typedef {Object} SeqPage
 * @property {T[]} items
 * @property {boolean} more another page follows in the direction asked for
 */

/**
 * @template T
 * @typedef {Object} CursorPage
 * @property {T[]} items
 * @property {string} [next_cursor]
 */

/**
 * @typedef {Object} SendInput
 * @property {string} client_id
 * @property {string} [body]
 * @property {string} [reply_to]
 * @property {string[]} [attachments]
 */

/** A failed API call: an HTTP problem, or status 0 when no answer came. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   * @param {number | null} retryAfter seconds, from Retry-After
   */
  constructor(status, problem, retryAfter) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  /** @returns {FieldError[]} */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

const jsonType = 'application/json';

export class Api {
  /** @type {typeof fetch} */
  #fetch;
  /** @type {string} */
  #base;

  /**
   * @param {{ fetch?: typeof fetch, base?: string }} [options]
   *   base is the API's root, /api/v1 unless told.
   */
  constructor({ fetch: fetchFn = globalThis.fetch.bind(globalThis), base = '/api/v1' } = {}) {
    this.#fetch = fetchFn;
    this.#base = base;
  }

  /** @returns {Promise<Config>} */
  config() {
    return this.#request('GET', '/config');
  }

  /**
   * The signed-in user, or null when nobody is.
   * @returns {Promise<User | null>}
   */
  async me() {
    try {
      return await this.#request('GET', '/me');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return null;
      throw err;
    }
  }

  /**
   * @param {{ email: string, name: string, password: string, invite?: string }} input
   * @returns {Promise<User>}
   */
  signup(input) {
    return this.#request('POST', '/auth/signup', input);
  }

  /**
   * @param {{ email: string, password: string }} input
   * @returns {Promise<User>}
   */
  login(input) {
    return this.#request('POST', '/auth/login', input);
  }

  /** @returns {Promise<void>} */
  logout() {
    return this.#request('POST', '/auth/logout');
  }

  /**
   * @param {{ current_password: string, new_password: string }} input
   * @returns {Promise<void>}
   */
  changePassword(input) {
    return this.#request('POST', '/auth/password', input);
  }

  /** @returns {Promise<List<Session>>} */
  sessions() {
    return this.#request('GET', '/sessions');
  }

  /**
   * @param {string} id
   * @returns {Promise<void>}
   */
  endSession(id) {
    return this.#request('DELETE', `/sessions/${encodeURIComponent(id)}`);
  }

  /** @returns {Promise<List<Token>>} */
  tokens() {
    return this.#request('GET', '/tokens');
  }

  /**
   * @param {{ name: string }} input
   * @returns {Promise<NewToken>}
   */
  createToken(input) {
    return this.#request('POST', '/tokens', input);
  }

  /**
   * @param {string} id
   * @returns {Promise<void>}
   */
  revokeToken(id) {
    return this.#request('DELETE', `/tokens/${encodeURIComponent(id)}`);
  }

  /**
   * People whose name contains query, or whose email is exactly query.
   * @param {string} query
   * @param {{ limit?: number }} [options]
   * @returns {Promise<CursorPage<UserHit>>}
   */
  searchUsers(query, { limit = 20 } = {}) {
    return this.#request('GET', `/users?${new URLSearchParams({ query, limit: String(limit) })}`);
  }

  /**
   * One page of the caller's conversations, most recently active first.
   * @param {{ cursor?: string, limit?: number }} [options]
   * @returns {Promise<CursorPage<Conversation>>}
   */
  conversations({ cursor, limit = 200 } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.#request('GET', `/conversations?${query}`);
  }

  /**
   * Every conversation of the caller, all pages.
   * @returns {Promise<Conversation[]>}
   */
  async allConversations() {
    /** @type {Conversation[]} */
    const all = [];
    /** @type {string | undefined} */
    let cursor;
    do {
      const page = await this.conversations({ cursor });
      all.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return all;
  }

  /**
   * @param {string} id
   * @returns {Promise<Conversation>}
   */
  conversation(id) {
    return this.#request('GET', `/conversations/${encodeURIComponent(id)}`);
  }

  /**
   * A direct conversation with one person (the existing one if any), or a
   * new group.
   * @param {{ kind: 'direct', user_id: string } | { kind: 'group', title: string, members: string[] }} input
   * @returns {Promise<Conversation>}
   */
  createConversation(input) {
    return this.#request('POST', '/conversations', input);
  }

  /**
   * @param {string} id
   * @returns {Promise<List<Member>>}
   */
  members(id) {
    return this.#request('GET', `/conversations/${encodeURIComponent(id)}/members`);
  }

  /**
   * Messages in seq order; after and before are exclusive bounds.
   * @param {string} id
   * @param {{ after?: number, before?: number, limit?: number }} [bounds]
   * @returns {Promise<SeqPage<Message>>}
   */
  messages(id, { after, before, limit = 50 } = {}) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (after) query.set('after', String(after));
    if (before) query.set('before', String(before));
    return this.#request('GET', `/conversations/${encodeURIComponent(id)}/messages?${query}`);
  }

  /**
   * @param {string} id
   * @param {SendInput} input
   * @returns {Promise<Message>}
   */
  sendMessage(id, input) {
    return this.#request('POST', `/conversations/${encodeURIComponent(id)}/messages`, input);
  }

  /**
   * @param {string} conversationId
   * @param {string} messageId
   * @param {string} body
   * @returns {Promise<Message>}
   */
  editMessage(conversationId, messageId, body) {
    return this.#request('PATCH', messagePath(conversationId, messageId), { body });
  }

  /**
   * @param {string} conversationId
   * @param {string} messageId
   * @returns {Promise<void>}
   */
  deleteMessage(conversationId, messageId) {
    return this.#request('DELETE', messagePath(conversationId, messageId));
  }

  /**
   * Adds or takes back the caller's emoji on a message.
   * @param {string} conversationId
   * @param {string} messageId
   * @param {string} emoji
   * @param {boolean} add
   * @returns {Promise<void>}
   */
  react(conversationId, messageId, emoji, add) {
    return this.#request(add ? 'PUT' : 'DELETE',
      `${messagePath(conversationId, messageId)}/reactions/${encodeURIComponent(emoji)}`);
  }

  /**
   * Moves the caller's read cursor forward to seq.
   * @param {string} id
   * @param {number} seq
   * @returns {Promise<{ read_seq: number }>}
   */
  markRead(id, seq) {
    return this.#request('POST', `/conversations/${encodeURIComponent(id)}/read`, { seq });
  }

  /**
   * The conversation's change log after a seq (docs/PROTOCOL.md).
   * @param {string} id
   * @param {number} after
   * @param {number} [limit]
   * @returns {Promise<SeqPage<ConversationEvent>>}
   */
  events(id, after, limit = 500) {
    const query = new URLSearchParams({ after: String(after), limit: String(limit) });
    return this.#request('GET', `/conversations/${encodeURIComponent(id)}/events?${query}`);
  }

  /**
   * The calls that ended between two seqs (before 0: no bound): the lines
   * a thread shows among its messages.
   * @param {string} id
   * @param {number} after
   * @param {number} before
   * @returns {Promise<SeqPage<ConversationEvent>>}
   */
  callHistory(id, after, before) {
    const query = new URLSearchParams({ after: String(after), type: 'call.ended', limit: '500' });
    if (before > 0) query.set('before', String(before));
    return this.#request('GET', `/conversations/${encodeURIComponent(id)}/events?${query}`);
  }

  /**
   * Uploads a file for a message still to be sent. The server works out
   * the type from the bytes, so the file goes as it is.
   * @param {string} conversationId
   * @param {File} file
   * @param {AbortSignal} [signal]
   * @returns {Promise<Attachment>}
   */
  upload(conversationId, file, signal) {
    const query = new URLSearchParams({ name: file.name || 'file' });
    return this.#request('POST', `/conversations/${encodeURIComponent(conversationId)}/attachments?${query}`,
      undefined, { body: file, contentType: 'application/octet-stream', signal });
  }

  /**
   * Messages containing every word of q, newest first.
   * @param {string} q
   * @param {{ conversation?: string, cursor?: string, limit?: number }} [options]
   * @returns {Promise<CursorPage<Message>>}
   */
  searchMessages(q, { conversation, cursor, limit = 20 } = {}) {
    const query = new URLSearchParams({ q, limit: String(limit) });
    if (conversation) query.set('conversation', conversation);
    if (cursor) query.set('cursor', cursor);
    return this.#request('GET', `/search?${query}`);
  }

  /**
   * Starts a call in a conversation. A call already going on there is a
   * 409 whose errors name it (field call_id): join that one instead.
   * @param {string} conversationId
   * @param {'voice' | 'video' | 'help'} kind
   * @param {'helper' | 'customer'} [role] the starter's, in a help call
   * @returns {Promise<Call>}
   */
  startCall(conversationId, kind, role) {
    return this.#request('POST', `/conversations/${encodeURIComponent(conversationId)}/calls`,
      role ? { kind, role } : { kind });
  }

  /**
   * @param {string} id
   * @returns {Promise<Call>}
   */
  call(id) {
    return this.#request('GET', `/calls/${encodeURIComponent(id)}`);
  }

  /**
   * The calls ringing or going on in my conversations.
   * @returns {Promise<{ items: Call[] }>}
   */
  liveCalls() {
    return this.#request('GET', '/calls');
  }

  /**
   * @param {string} id
   * @param {'join' | 'decline' | 'leave' | 'end'} action
   * @returns {Promise<Call>}
   */
  callAction(id, action) {
    return this.#request('POST', `/calls/${encodeURIComponent(id)}/${action}`);
  }

  /**
   * Where an attachment is downloaded (and, for images, shown) from.
   * @param {string} id
   * @returns {string}
   */
  attachmentUrl(id) {
    return `${this.#base}/attachments/${encodeURIComponent(id)}`;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {{ body: BodyInit, contentType: string, signal?: AbortSignal }} [raw]
   *   a body sent as it is, instead of JSON
   * @returns {Promise<any>} the decoded JSON body, or undefined for 204
   */
  async #request(method, path, body, raw) {
    /** @type {Record<string, string>} */
    const headers = { Accept: jsonType };
    /** @type {RequestInit} */
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = jsonType;
      init.body = JSON.stringify(body);
    } else if (raw) {
      headers['Content-Type'] = raw.contentType;
      init.body = raw.body;
      init.signal = raw.signal;
    }
    /** @type {Response} */
    let response;
    try {
      response = await this.#fetch(this.#base + path, init);
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiError(0, { title: 'Network error' }, null);
    }
    if (response.ok) {
      if (response.status === 204) return undefined;
      return response.json();
    }
    throw new ApiError(response.status, await readProblem(response), retryAfterSeconds(response));
  }
}

/**
 * @param {string} conversationId
 * @param {string} messageId
 * @returns {string}
 */
function messagePath(conversationId, messageId) {
  return `/conversations/${encodeURIComponent(conversationId)}/messages/${encodeURIComponent(messageId)}`;
}

/**
 * @param {Response} response
 * @returns {Promise<Problem>}
 */
async function readProblem(response) {
  const type = response.headers.get('Content-Type') ?? '';
  if (type.includes('json')) {
    try {
      const problem = await response.json();
      if (problem && typeof problem === 'object') return problem;
    } catch {
      // A body that is not JSON is answered like any unexplained failure.
    }
  }
  return { status: response.status };
}

/**
 * Retry-After as seconds; it may also be an HTTP date.
 * @param {Response} response
 * @returns {number | null}
 */
function retryAfterSeconds(response) {
  const value = response.headers.get('Retry-After');
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return null;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
