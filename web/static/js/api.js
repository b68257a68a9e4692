// The client of Parley's HTTP API (/api/v1). Same origin, cookie session,
// JSON bodies; failures arrive as RFC 9457 problems and are thrown as
// ApiError.

/**
 * @typedef {Object} Config
 * @property {'open' | 'invite' | 'closed'} signup_mode
 * @property {string} version
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
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @returns {Promise<any>} the decoded JSON body, or undefined for 204
   */
  async #request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: jsonType };
    /** @type {RequestInit} */
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = jsonType;
      init.body = JSON.stringify(body);
    }
    /** @type {Response} */
    let response;
    try {
      response = await this.#fetch(this.#base + path, init);
    } catch {
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
