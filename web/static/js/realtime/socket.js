// The WebSocket to Parley's realtime gateway (docs/PROTOCOL.md): it
// connects, reconnects with backoff and jitter, notices a dead link by its
// silence, matches answers to requests by id, and hands every other frame
// on. It knows nothing of conversations; sync.js keeps the cursors.

/**
 * A frame from the server: "v", "type" and the fields of that type.
 * @typedef {{ v?: number, type: string, id?: string, [field: string]: any }} ServerFrame
 */

/**
 * @typedef {'connecting' | 'open' | 'waiting' | 'ended' | 'stopped'} SocketState
 *   open: the hello has arrived; waiting: between attempts; ended: the
 *   server ended the session (sign in again); stopped: closed by us
 */

/**
 * @typedef {Object} SocketOptions
 * @property {string} url
 * @property {(frame: ServerFrame) => void} onFrame frames that answer no request
 * @property {(state: SocketState) => void} onState
 * @property {(hello: ServerFrame) => void} onHello every (re)connection, before any other frame
 * @property {() => void} [onFailedAttempt] a connection ended before its hello (perhaps signed out)
 * @property {number} [minBackoffMs]
 * @property {number} [maxBackoffMs]
 * @property {Window} [window] for the online, offline and visibility signals
 */

/** Close codes of the protocol that change what happens next. */
const closeSessionEnded = 4001;

/** A request's answer was an error frame. */
export class FrameError extends Error {
  /**
   * @param {string} code the REST problem slug, or a protocol code
   * @param {string} detail
   * @param {{ field: string, detail: string }[]} [errors]
   */
  constructor(code, detail, errors = []) {
    super(detail || code);
    this.name = 'FrameError';
    this.code = code;
    this.errors = errors;
  }
}

/** A request made while the connection was down, or lost with it. */
export class NotConnectedError extends Error {
  constructor() {
    super('not connected');
    this.name = 'NotConnectedError';
  }
}

/**
 * The delay before reconnection attempt number attempt (0 first): it
 * doubles up to a ceiling, and a random half of it spreads many clients
 * out after a server restart so they do not all return at once.
 * @param {number} attempt
 * @param {number} minMs
 * @param {number} maxMs
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffDelay(attempt, minMs, maxMs, random = Math.random) {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}

export class RealtimeSocket {
  /** @type {SocketOptions} */
  #options;
  /** @type {WebSocket | null} */
  #ws = null;
  /** @type {SocketState} */
  #state = 'stopped';
  #attempt = 0;
  /** @type {number | undefined} */
  #retryTimer;
  /** @type {number | undefined} */
  #heartbeatTimer;
  #lastHeard = 0;
  #pingIntervalMs = 25_000;
  #nextId = 0;
  /** @type {Map<string, { resolve: (frame: ServerFrame) => void, reject: (error: Error) => void, timer: number }>} */
  #waiters = new Map();
  /** @type {(() => void)[]} */
  #unlisten = [];

  /** @param {SocketOptions} options */
  constructor(options) {
    this.#options = { minBackoffMs: 500, maxBackoffMs: 15_000, ...options };
  }

  /** @returns {SocketState} */
  get state() {
    return this.#state;
  }

  /** Starts connecting, and keeps doing so until stop. */
  start() {
    if (this.#state !== 'stopped') return;
    const win = this.#options.window ?? window;
    /**
     * @param {EventTarget} target
     * @param {string} type
     * @param {() => void} listener
     */
    const listen = (target, type, listener) => {
      target.addEventListener(type, listener);
      this.#unlisten.push(() => target.removeEventListener(type, listener));
    };
    // The browser knows before the socket does that the network is gone;
    // a dead socket would otherwise look open until the heartbeat notices.
    listen(win, 'offline', () => this.#drop());
    listen(win, 'online', () => this.reconnectNow());
    listen(win.document, 'visibilitychange', () => {
      if (win.document.visibilityState === 'visible') this.reconnectNow();
    });
    this.#connect();
  }

  /** Closes the connection for good. */
  stop() {
    for (const unlisten of this.#unlisten) unlisten();
    this.#unlisten = [];
    window.clearTimeout(this.#retryTimer);
    this.#closeSocket();
    this.#lost();
    this.#setState('stopped');
  }

  /** Skips the wait before the next attempt (the network came back). */
  reconnectNow() {
    if (this.#state !== 'waiting') return;
    window.clearTimeout(this.#retryTimer);
    this.#connect();
  }

  /**
   * Sends a frame that expects no answer (typing, presence). Dropped when
   * the connection is down: such frames are only worth it now.
   * @param {Record<string, unknown>} frame
   * @returns {boolean} whether it was sent
   */
  send(frame) {
    const ws = this.#ws;
    if (this.#state !== 'open' || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ v: 1, ...frame }));
    return true;
  }

  /**
   * Sends a frame with an id and waits for its ack (or pong).
   * @param {Record<string, unknown>} frame
   * @param {number} [timeoutMs]
   * @returns {Promise<ServerFrame>} rejects with FrameError or NotConnectedError
   */
  request(frame, timeoutMs = 15_000) {
    const id = `r${++this.#nextId}`;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, id })) {
        reject(new NotConnectedError());
        return;
      }
      const timer = window.setTimeout(() => {
        this.#waiters.delete(id);
        // An answer this late means the link is bad; start afresh.
        reject(new NotConnectedError());
        this.#drop();
      }, timeoutMs);
      this.#waiters.set(id, { resolve, reject, timer });
    });
  }

  #connect() {
    this.#closeSocket();
    this.#setState('connecting');
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new WebSocket(this.#options.url);
    } catch {
      this.#scheduleRetry(false);
      return;
    }
    this.#ws = ws;
    let helloSeen = false;
    ws.addEventListener('message', (event) => {
      if (this.#ws !== ws) return;
      this.#lastHeard = Date.now();
      // The server may put several frames in one message, one per line.
      for (const line of String(event.data).split('\n')) {
        if (!line) continue;
        /** @type {ServerFrame} */
        let frame;
        try {
          frame = JSON.parse(line);
        } catch {
          continue;
        }
        if (!frame || typeof frame.type !== 'string') continue;
        if (frame.type === 'hello') {
          helloSeen = true;
          this.#opened(frame);
          continue;
        }
        if (!helloSeen) continue;
        this.#dispatch(frame);
      }
    });
    ws.addEventListener('close', (event) => {
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#lost();
      if (event.code === closeSessionEnded) {
        this.#stopHeartbeat();
        this.#setState('ended');
        return;
      }
      if (!helloSeen) this.#options.onFailedAttempt?.();
      this.#scheduleRetry(helloSeen);
    });
  }

  /** @param {ServerFrame} hello */
  #opened(hello) {
    this.#attempt = 0;
    if (typeof hello.ping_interval === 'number' && hello.ping_interval > 0) {
      this.#pingIntervalMs = hello.ping_interval * 1000;
    }
    this.#startHeartbeat();
    this.#setState('open');
    this.#options.onHello(hello);
  }

  /** @param {ServerFrame} frame */
  #dispatch(frame) {
    const waiter = frame.id !== undefined ? this.#waiters.get(frame.id) : undefined;
    if (waiter && (frame.type === 'ack' || frame.type === 'pong' || frame.type === 'error')) {
      this.#waiters.delete(/** @type {string} */ (frame.id));
      window.clearTimeout(waiter.timer);
      if (frame.type === 'error') {
        waiter.reject(new FrameError(String(frame.code ?? 'error'), String(frame.detail ?? ''), frame.errors));
      } else {
        waiter.resolve(frame);
      }
      return;
    }
    this.#options.onFrame(frame);
  }

  /**
   * Browsers answer the server's pings without telling the page, so the
   * page pings too: a connection that stays silent past two intervals is
   * dead even if the socket has not noticed.
   */
  #startHeartbeat() {
    this.#stopHeartbeat();
    this.#lastHeard = Date.now();
    this.#heartbeatTimer = window.setInterval(() => {
      if (Date.now() - this.#lastHeard > 2 * this.#pingIntervalMs + 5_000) {
        this.#drop();
        return;
      }
      this.send({ type: 'ping', id: `ping${++this.#nextId}` });
    }, this.#pingIntervalMs);
  }

  #stopHeartbeat() {
    window.clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  /** Gives up on the current connection now and tries again. */
  #drop() {
    if (this.#state !== 'open' && this.#state !== 'connecting') return;
    const hadHello = this.#state === 'open';
    this.#closeSocket();
    this.#lost();
    this.#scheduleRetry(hadHello);
  }

  /** Fails the requests that were waiting on the lost connection. */
  #lost() {
    this.#stopHeartbeat();
    for (const waiter of this.#waiters.values()) {
      window.clearTimeout(waiter.timer);
      waiter.reject(new NotConnectedError());
    }
    this.#waiters.clear();
  }

  /** @param {boolean} wasOpen a connection that worked starts the backoff over */
  #scheduleRetry(wasOpen) {
    if (this.#state === 'stopped' || this.#state === 'ended') return;
    if (wasOpen) this.#attempt = 0;
    const { minBackoffMs = 500, maxBackoffMs = 15_000 } = this.#options;
    const delay = backoffDelay(this.#attempt, minBackoffMs, maxBackoffMs);
    this.#attempt += 1;
    this.#setState('waiting');
    window.clearTimeout(this.#retryTimer);
    this.#retryTimer = window.setTimeout(() => this.#connect(), delay);
  }

  #closeSocket() {
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED && ws.readyState !== WebSocket.CLOSING) ws.close(1000);
  }

  /**
   * Ends the connection because the session is over (told by the REST API).
   */
  end() {
    window.clearTimeout(this.#retryTimer);
    this.#closeSocket();
    this.#lost();
    this.#setState('ended');
  }

  /** @param {SocketState} state */
  #setState(state) {
    if (state === this.#state) return;
    this.#state = state;
    this.#options.onState(state);
  }
}
