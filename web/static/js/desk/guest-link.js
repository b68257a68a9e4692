// The customer's line to Parley from a page that may be on another site
// (the help widget) or on Parley itself (the kiosk): REST with the guest's
// bearer token, never cookies, and a WebSocket that offers the token as a
// subprotocol (docs/PROTOCOL.md). The app's own RealtimeSocket and Api
// speak with the signed-in person's cookie, which a page of another
// origin does not have, so the widget has this small pair instead.

/**
 * A failed REST call: the status and the problem's slug and fields.
 */
export class GuestError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
   * @param {Record<string, any>} problem
   */
  constructor(status, problem) {
    super(String(problem.detail ?? problem.title ?? `HTTP ${status}`));
    this.name = 'GuestError';
    this.status = status;
    this.problem = problem;
    /** @type {{ field: string, detail: string }[]} */
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }

  /** The problem type's last segment (queue-closed, offer-gone, …). */
  get slug() {
    return String(this.problem.type ?? '').split('/').pop() ?? '';
  }
}

export class GuestApi {
  /** @type {string} */
  #base;
  token = '';

  /** @param {string} origin Parley's origin, such as https://parley.example */
  constructor(origin) {
    this.#base = `${origin.replace(/\/$/, '')}/api/v1`;
  }

  /**
   * @param {string} method
   * @param {string} path under /api/v1
   * @param {unknown} [body]
   * @returns {Promise<any>}
   */
  async request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    /** @type {RequestInit} */
    const init = { method, headers, credentials: 'omit', cache: 'no-store', mode: 'cors' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.#base + path, init);
    } catch {
      throw new GuestError(0, { title: 'Network error' });
    }
    if (response.status === 204) return undefined;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new GuestError(response.status, data ?? {});
    return data;
  }
}

/**
 * @typedef {{ type: string, id?: string, [field: string]: any }} Frame
 */

/**
 * A WebSocket carrying the guest's token; it reconnects after a loss and
 * matches answers to requests by id.
 */
export class GuestSocket {
  /** @type {string} */
  #url;
  /** @type {string} */
  #token;
  /** @type {WebSocket | null} */
  #ws = null;
  #open = false;
  #stopped = false;
  #next = 0;
  #attempt = 0;
  /** @type {number | undefined} */
  #timer;
  /** @type {number | undefined} */
  #ping;
  /** @type {Map<string, { resolve: (frame: Frame) => void, reject: (error: Error) => void }>} */
  #waiting = new Map();
  /** @type {(frame: Frame) => void} */
  #onFrame;
  /** @type {() => void} */
  #onHello;

  /**
   * @param {{ origin: string, token: string, onFrame: (frame: Frame) => void, onHello: () => void }} options
   */
  constructor({ origin, token, onFrame, onHello }) {
    const url = new URL('/api/v1/ws', origin);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#url = url.href;
    this.#token = token;
    this.#onFrame = onFrame;
    this.#onHello = onHello;
  }

  start() {
    this.#connect();
  }

  #connect() {
    if (this.#stopped) return;
    const ws = new WebSocket(this.#url, ['parley.v1', `parley.token.${this.#token}`]);
    this.#ws = ws;
    ws.addEventListener('message', (event) => {
      for (const line of String(event.data).split('\n')) {
        if (!line) continue;
        /** @type {Frame} */
        let frame;
        try {
          frame = JSON.parse(line);
        } catch {
          continue;
        }
        if (frame.type === 'hello') {
          this.#open = true;
          this.#attempt = 0;
          const every = typeof frame.ping_interval === 'number' && frame.ping_interval > 0 ? frame.ping_interval * 1000 : 25_000;
          window.clearInterval(this.#ping);
          this.#ping = window.setInterval(() => this.send({ type: 'ping', id: `ping${++this.#next}` }), every);
          this.#onHello();
          continue;
        }
        const waiter = frame.id ? this.#waiting.get(frame.id) : undefined;
        if (waiter && (frame.type === 'ack' || frame.type === 'error' || frame.type === 'pong')) {
          this.#waiting.delete(/** @type {string} */ (frame.id));
          if (frame.type === 'error') waiter.reject(new GuestError(400, { type: frame.code, detail: frame.detail, errors: frame.errors }));
          else waiter.resolve(frame);
          continue;
        }
        this.#onFrame(frame);
      }
    });
    ws.addEventListener('close', () => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#open = false;
      window.clearInterval(this.#ping);
      for (const waiter of this.#waiting.values()) waiter.reject(new Error('not connected'));
      this.#waiting.clear();
      if (this.#stopped) return;
      const delay = Math.min(15_000, 500 * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
      this.#attempt += 1;
      this.#timer = window.setTimeout(() => this.#connect(), delay);
    });
  }

  /**
   * @param {Record<string, unknown>} frame
   * @returns {boolean}
   */
  send(frame) {
    if (!this.#open || !this.#ws || this.#ws.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(JSON.stringify({ v: 1, ...frame }));
    return true;
  }

  /**
   * @param {Record<string, unknown>} frame
   * @returns {Promise<Frame>}
   */
  request(frame) {
    const id = `g${++this.#next}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, id })) {
        reject(new Error('not connected'));
        return;
      }
      this.#waiting.set(id, { resolve, reject });
    });
  }

  stop() {
    this.#stopped = true;
    window.clearTimeout(this.#timer);
    window.clearInterval(this.#ping);
    this.#ws?.close(1000);
    this.#ws = null;
  }
}
