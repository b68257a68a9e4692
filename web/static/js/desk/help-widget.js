// <parley-help>: the customer's side of the help desk, in a shadow DOM so
// that neither the host page's styles nor its scripts' selectors reach it.
// The embeddable widget (/widget.js) puts one on a shop's page; the kiosk
// page (/kiosk/{location}) puts a full-screen one on Parley's own.
//
// It reads the queue's status (hidden when the site is not allowed or
// nobody can answer, "Closed — request a callback" when the queue takes
// callbacks), asks a guest for a name, opens the request, shows the place
// in line and the estimated wait live (Cancel), then the session: a
// one-way video call (the agent's camera, "Share screen", the customer's
// own screen with the agent's drawings over it, a chat and End), a voice
// call (the same without any camera), or a chat alone (no call at all);
// after the end, a rating. When the queue offers more than one channel the
// customer chooses (video, voice, chat) with their name. The customer
// never sends a camera: the media connects with { camera: false } and the
// server would refuse one anyway. A transfer to another agent keeps the
// call going: the new agent's camera replaces the first's.

import { el, replaceChildren } from '../components/dom.js';
import { VideoTile } from '../components/video-tile.js';
import { CallMedia } from '../calls/call-media.js';
import { AnnotationLayer } from '../calls/annotation-layer.js';
import { I18n } from '../i18n.js';
import { GuestApi, GuestError, GuestSocket } from './guest-link.js';

/** @typedef {import('../i18n.js').MessageKey} MessageKey */
/** @typedef {import('./guest-link.js').Frame} Frame */

/**
 * A help request as the desk API answers it (internal/desk/requests.go).
 * @typedef {Object} HelpRequest
 * @property {string} id
 * @property {string} status waiting, offered, active, ended, abandoned, callback
 * @property {string} queue_name
 * @property {string} channel
 * @property {string} customer_id
 * @property {string} name
 * @property {number} [position]
 * @property {number} estimated_wait_seconds
 * @property {string} conversation_id
 * @property {string} [call_id]
 * @property {string} [agent_name]
 * @property {string | null} answered_at
 * @property {number | null} rating
 * @property {string} [token]
 */

/**
 * @typedef {Object} QueueStatus
 * @property {string} key
 * @property {string} name
 * @property {string[]} channels
 * @property {boolean} open
 * @property {number} agents_online
 * @property {number} waiting
 * @property {number} estimated_wait_seconds
 * @property {string} when_closed
 * @property {string | null} next_open
 */

/** @typedef {'video' | 'voice' | 'chat'} Channel */

/** The channels this widget knows, in the order it offers them. */
const knownChannels = /** @type {const} */ (['video', 'voice', 'chat']);

/**
 * @typedef {'loading' | 'denied' | 'hidden' | 'closed' | 'idle' | 'name' | 'callback' | 'booked'
 *   | 'opening' | 'waiting' | 'call' | 'rating' | 'thanks'} HelpState
 */

/** Parley's origin: where this module was loaded from. */
const parleyOrigin = new URL(import.meta.url).origin;

/** How often the queue's status is read again while the button shows. */
const statusEveryMs = 30_000;

/** A kiosk goes back to its start after this long without a touch. */
const kioskIdleMs = 90_000;

export class ParleyHelp extends HTMLElement {
  /** @type {ShadowRoot} */
  #root;
  /** @type {HTMLElement} */
  #frame;
  /** @type {I18n} */
  #i18n;
  /** @type {GuestApi} */
  #api = new GuestApi(parleyOrigin);
  /** @type {HelpState} */
  #state = 'loading';
  /** @type {QueueStatus | null} */
  #status = null;
  /** @type {HelpRequest | null} */
  #request = null;
  /** @type {GuestSocket | null} */
  #socket = null;
  /** @type {CallMedia | null} */
  #media = null;
  /** @type {{ kind: Channel, agent: VideoTile, screen: VideoTile, layer: AnnotationLayer | null, element: HTMLElement,
   *   title: HTMLElement, share: HTMLButtonElement | null, mute: HTMLButtonElement | null, log: HTMLElement, audio: HTMLElement,
   *   status: HTMLElement } | null} */
  #call = null;
  /** @type {Channel} the channel chosen (or the queue's only one) */
  #channel = 'video';
  /** @type {Set<string>} */
  #seenMessages = new Set();
  /** @type {string} */
  #notice = '';
  /** @type {number | undefined} */
  #statusTimer;
  /** @type {number | undefined} */
  #idleTimer;
  #connected = false;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    this.#i18n = new I18n({ storage: null, preferred: [] });
    const sheet = el('link', { rel: 'stylesheet', href: `${parleyOrigin}/widget.css` });
    this.#frame = el('div', { class: 'parley-help', part: 'frame' });
    this.#root.append(sheet, this.#frame);
  }

  connectedCallback() {
    if (this.#connected) return;
    this.#connected = true;
    const lang = this.getAttribute('lang') || document.documentElement.lang || '';
    this.#i18n = new I18n({ storage: null, preferred: [lang, ...navigator.languages].filter(Boolean) });
    const colour = this.getAttribute('colour') ?? this.getAttribute('color');
    if (colour && CSS.supports('color', colour)) this.style.setProperty('--parley-help-accent', colour);
    this.#frame.dataset.position = this.getAttribute('position') === 'bottom-left' ? 'bottom-left' : 'bottom-right';
    this.#frame.classList.toggle('is-kiosk', this.kiosk);
    if (this.kiosk) {
      for (const type of ['pointerdown', 'keydown']) this.addEventListener(type, () => this.#touched());
    }
    void this.#readStatus();
  }

  disconnectedCallback() {
    this.#connected = false;
    window.clearTimeout(this.#statusTimer);
    window.clearTimeout(this.#idleTimer);
    void this.#leaveCall();
    this.#socket?.stop();
  }

  get kiosk() {
    return this.hasAttribute('kiosk');
  }

  get queue() {
    return this.getAttribute('queue') ?? '';
  }

  /** The state, for tests and for the host page's styling (data-state). */
  get state() {
    return this.#state;
  }

  /**
   * @param {MessageKey} key
   * @param {Record<string, string | number>} [params]
   */
  #t(key, params) {
    return this.#i18n.t(key, params);
  }

  /** @param {HelpState} state */
  #go(state) {
    this.#state = state;
    this.dataset.state = state;
    this.#frame.dataset.state = state;
    if (state !== 'call') this.#render();
    this.#touched();
  }

  // The queue's status, before anyone presses Help.

  async #readStatus() {
    window.clearTimeout(this.#statusTimer);
    if (!this.queue) {
      this.#go('hidden');
      return;
    }
    try {
      this.#status = await this.#api.request('GET', `/desk/queues/${encodeURIComponent(this.queue)}/status`);
    } catch (error) {
      // 403: this site is not on the queue's allowlist; 404: no such
      // queue. Either way there is nothing to offer here.
      if (error instanceof GuestError && (error.status === 403 || error.status === 404)) {
        this.#go(error.status === 403 ? 'denied' : 'hidden');
        return;
      }
      this.#status = null;
    }
    if (['loading', 'denied', 'hidden', 'closed', 'idle'].includes(this.#state)) this.#go(this.#resting());
    if (this.#connected) this.#statusTimer = window.setTimeout(() => void this.#readStatus(), statusEveryMs);
  }

  /** What shows when nothing is going on: Help, Closed, or nothing. @returns {HelpState} */
  #resting() {
    const status = this.#status;
    if (!status) return 'hidden';
    if (status.open && status.agents_online > 0) return 'idle';
    if (status.when_closed === 'callback') return 'closed';
    return this.kiosk ? 'closed' : 'hidden';
  }

  // Drawing.

  #render() {
    const state = this.#state;
    /** @type {(Node | null)[]} */
    let parts = [];
    const notice = this.#notice ? el('p', { class: 'notice', role: 'status' }, this.#notice) : null;
    switch (state) {
      case 'loading':
      case 'denied':
      case 'hidden':
        parts = [];
        break;
      case 'idle':
        parts = [this.#launcher(this.getAttribute('label') || this.#t('help.button'), () => this.#pressed()), notice];
        break;
      case 'closed': {
        const callback = this.#status?.when_closed === 'callback';
        parts = [this.#launcher(callback ? this.#t('help.closedCallback') : this.#t('help.closed'), () => {
          if (callback) this.#go('callback');
        }, !callback), notice];
        break;
      }
      case 'name':
        parts = [this.#panel(this.#t('help.title'), this.#nameForm())];
        break;
      case 'callback':
        parts = [this.#panel(this.#t('help.callbackTitle'), this.#callbackForm())];
        break;
      case 'booked':
        parts = [this.#panel(this.#t('help.callbackTitle'), el('p', { role: 'status' }, this.#t('help.callbackBooked')), this.#closeButton())];
        break;
      case 'opening':
        parts = [this.#panel(this.#t('help.title'), el('p', { role: 'status' }, this.#t('help.opening')))];
        break;
      case 'waiting':
        parts = [this.#panel(this.#t('help.title'), this.#waitingView())];
        break;
      case 'rating':
        parts = [this.#panel(this.#t('help.rateTitle'), this.#ratingForm())];
        break;
      case 'thanks':
        parts = [this.#panel(this.#t('help.title'), el('p', { role: 'status', class: 'thanks' }, this.#t('help.thanks')), this.#closeButton())];
        break;
      default:
        break;
    }
    replaceChildren(this.#frame, ...parts);
    if (state !== 'idle' && state !== 'closed') /** @type {HTMLElement | null} */ (this.#frame.querySelector('input, textarea, button'))?.focus();
  }

  /**
   * @param {string} label
   * @param {() => void} action
   * @param {boolean} [disabled]
   */
  #launcher(label, action, disabled = false) {
    const button = el('button', { type: 'button', class: 'launcher', part: 'button', disabled }, el('span', { class: 'launcher-icon', 'aria-hidden': 'true' }, '?'), label);
    button.addEventListener('click', action);
    return button;
  }

  /**
   * @param {string} title
   * @param {...(Node | null)} children
   */
  #panel(title, ...children) {
    return el('section', { class: 'panel', role: 'dialog', 'aria-label': title, part: 'panel' },
      el('h2', { class: 'panel-title' }, title), ...children);
  }

  #closeButton() {
    const button = el('button', { type: 'button', class: 'secondary' }, this.#t('help.close'));
    button.addEventListener('click', () => this.#reset());
    return button;
  }

  #pressed() {
    this.#notice = '';
    this.#channel = this.#channels()[0] ?? 'video';
    if (this.#knownName() && this.#channels().length < 2) {
      void this.#open(this.#knownName());
      return;
    }
    this.#go('name');
  }

  /** The name the site vouches for, if any. */
  #knownName() {
    return this.getAttribute('identity-user') ? this.getAttribute('identity-name') ?? '' : '';
  }

  /** The queue's channels this widget can offer, video first. @returns {Channel[]} */
  #channels() {
    const offered = this.#status?.channels ?? [];
    return knownChannels.filter((c) => offered.includes(c));
  }

  /** The channel choice, when the queue offers more than one. */
  #channelChoice() {
    const channels = this.#channels();
    if (channels.length < 2) return null;
    const name = `channel-${Math.random().toString(36).slice(2)}`;
    const set = el('fieldset', { class: 'channels' }, el('legend', {}, this.#t('help.channelQuestion')));
    for (const channel of channels) {
      const id = `${name}-${channel}`;
      const input = el('input', { type: 'radio', name, value: channel, id, checked: channel === this.#channel });
      input.addEventListener('change', () => {
        if (input.checked) this.#channel = channel;
      });
      set.append(el('div', { class: 'channel' }, input,
        el('label', { for: id }, el('span', { class: 'channel-name' }, this.#t(/** @type {MessageKey} */ (`help.channel.${channel}`))),
          el('span', { class: 'channel-note' }, this.#t(/** @type {MessageKey} */ (`help.channelNote.${channel}`))))));
    }
    return set;
  }

  #nameForm() {
    const known = this.#knownName();
    const input = el('input', { type: 'text', name: 'name', required: true, maxlength: 100, autocomplete: 'name', id: 'help-name' });
    const form = el('form', { class: 'form' },
      known ? null : el('label', { for: 'help-name' }, this.#t('help.name')),
      known ? null : input,
      this.#channelChoice(),
      this.#notice ? el('p', { class: 'notice', role: 'alert' }, this.#notice) : null,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'primary' }, this.#t('help.start')),
        this.#cancelButton(() => this.#reset())));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = known || input.value.trim();
      if (name) void this.#open(name);
    });
    return form;
  }

  /** @param {() => void} action */
  #cancelButton(action) {
    const button = el('button', { type: 'button', class: 'secondary' }, this.#t('help.cancel'));
    button.addEventListener('click', action);
    return button;
  }

  #callbackForm() {
    const name = el('input', { type: 'text', id: 'cb-name', required: true, maxlength: 100, autocomplete: 'name' });
    const contact = el('input', { type: 'text', id: 'cb-contact', required: true, maxlength: 200, autocomplete: 'tel' });
    const when = el('input', { type: 'datetime-local', id: 'cb-when' });
    const next = this.#status?.next_open;
    const form = el('form', { class: 'form' },
      next ? el('p', {}, this.#t('help.nextOpen', { time: this.#i18n.formatDateTime(next) })) : null,
      el('label', { for: 'cb-name' }, this.#t('help.name')), name,
      el('label', { for: 'cb-contact' }, this.#t('help.contact')), contact,
      el('label', { for: 'cb-when' }, this.#t('help.when')), when,
      this.#notice ? el('p', { class: 'notice', role: 'alert' }, this.#notice) : null,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'primary' }, this.#t('help.book')),
        this.#cancelButton(() => this.#reset())));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const at = when.value ? new Date(when.value) : null;
      void this.#open(name.value.trim(), { contact: contact.value.trim(), at: at && !Number.isNaN(at.getTime()) ? at.toISOString() : null });
    });
    return form;
  }

  #waitingView() {
    const request = this.#request;
    const position = request?.position ?? 0;
    const wait = request?.estimated_wait_seconds ?? 0;
    return el('div', { class: 'waiting' },
      el('p', { class: 'place', role: 'status', 'aria-live': 'polite' },
        request?.status === 'offered' ? this.#t('help.connecting')
          : position > 0 ? this.#t('help.position', { position }) : this.#t('help.waiting')),
      el('p', { class: 'wait' }, this.#waitText(wait)),
      el('div', { class: 'spinner', 'aria-hidden': 'true' }),
      el('div', { class: 'actions' }, this.#cancelButton(() => void this.#cancelRequest())));
  }

  /** @param {number} seconds */
  #waitText(seconds) {
    if (seconds < 60) return this.#t('help.waitUnderMinute');
    return this.#t('help.waitMinutes', { minutes: Math.round(seconds / 60) });
  }

  #ratingForm() {
    const name = `score-${Math.random().toString(36).slice(2)}`;
    const stars = el('fieldset', { class: 'stars' }, el('legend', {}, this.#t('help.rateQuestion')));
    for (let score = 1; score <= 5; score++) {
      const id = `${name}-${score}`;
      stars.append(el('input', { type: 'radio', name, value: score, id, required: true }),
        el('label', { for: id, title: this.#t('help.stars', { score }) }, el('span', { 'aria-hidden': 'true' }, '★'), el('span', { class: 'visually-hidden' }, this.#t('help.stars', { score }))));
    }
    const comment = el('textarea', { id: 'help-comment', maxlength: 2000, rows: 3 });
    const form = el('form', { class: 'form' }, stars,
      el('label', { for: 'help-comment' }, this.#t('help.comment')), comment,
      this.#notice ? el('p', { class: 'notice', role: 'alert' }, this.#notice) : null,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', class: 'primary' }, this.#t('help.sendRating')),
        this.#cancelButton(() => this.#reset())));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const checked = /** @type {HTMLInputElement | null} */ (form.querySelector('input[type=radio]:checked'));
      if (!checked || !this.#request) return;
      this.#api.request('POST', `/desk/requests/${this.#request.id}/rating`, { score: Number(checked.value), comment: comment.value.trim() })
        .then(() => this.#go('thanks'))
        .catch((error) => {
          this.#notice = this.#describe(error);
          this.#render();
        });
    });
    return form;
  }

  /** @param {unknown} error */
  #describe(error) {
    if (error instanceof GuestError) {
      if (error.status === 0) return this.#t('help.networkError');
      if (error.slug.startsWith('queue-')) return this.#t('help.queueClosed');
      if (error.slug === 'already-rated') return this.#t('help.thanks');
      const field = error.errors[0];
      if (field) return `${field.field}: ${field.detail}`;
      return error.message;
    }
    return this.#t('help.networkError');
  }

  // The request.

  /**
   * @param {string} name
   * @param {{ contact: string, at: string | null }} [callback]
   */
  async #open(name, callback) {
    const channels = this.#status?.channels ?? [];
    const channel = channels.includes(this.#channel) ? this.#channel : channels[0];
    /** @type {Record<string, unknown>} */
    const body = { queue: this.queue, channel, name, page: this.kiosk ? undefined : location.href, device: deviceName() };
    const location_ = this.getAttribute('location');
    if (location_) body.location = location_;
    const user = this.getAttribute('identity-user');
    if (user) body.identity = { user_id: user, name: this.getAttribute('identity-name') ?? '', signature: this.getAttribute('identity-signature') ?? '' };
    if (callback) body.callback = callback;
    this.#notice = '';
    if (!callback) this.#go('opening');
    /** @type {HelpRequest} */
    let request;
    try {
      request = await this.#api.request('POST', '/desk/requests', body);
    } catch (error) {
      this.#notice = this.#describe(error);
      if (error instanceof GuestError && error.status === 409) {
        const offer = error.errors.find((e) => e.field === 'offer')?.detail;
        if (this.#status) this.#status.when_closed = offer ?? this.#status.when_closed;
        this.#go(offer === 'callback' && !callback ? 'callback' : callback ? 'callback' : this.#resting());
        return;
      }
      this.#go(callback ? 'callback' : 'name');
      return;
    }
    this.#api.token = request.token ?? '';
    this.#request = request;
    if (callback) {
      this.#go('booked');
      return;
    }
    this.#go('waiting');
    this.#socket = new GuestSocket({
      origin: parleyOrigin,
      token: this.#api.token,
      onFrame: (frame) => this.#frameArrived(frame),
      onHello: () => void this.#refresh(),
    });
    this.#socket.start();
  }

  /** Reads the request again (after a (re)connection: news may have been missed). */
  async #refresh() {
    const id = this.#request?.id;
    if (!id) return;
    try {
      this.#update(await this.#api.request('GET', `/desk/requests/${id}`));
    } catch {
      // The next frame or reconnection tries again.
    }
    if (this.#call) void this.#loadMessages();
  }

  /** @param {Frame} frame */
  #frameArrived(frame) {
    if (frame.type === 'desk' && frame.desk?.kind === 'request' && frame.desk.request?.id === this.#request?.id) {
      this.#update(frame.desk.request);
    } else if (frame.type === 'rtc') {
      if (frame.call_id === this.#media?.callId) this.#media?.receive(frame);
    } else if (frame.type === 'event') {
      const event = frame.event;
      if (event?.conversation_id === this.#request?.conversation_id && event.type === 'message.created' && event.message) {
        this.#showMessage(event.message);
      }
    }
  }

  /** @param {HelpRequest} request */
  #update(request) {
    const previous = this.#request;
    this.#request = { ...previous, ...request, token: undefined };
    switch (request.status) {
      case 'waiting':
      case 'offered':
        if (this.#state === 'waiting') this.#render();
        // Handed on to another agent: the call goes on meanwhile.
        else if (this.#call) this.#showCallStatus(true);
        break;
      case 'active':
        if (!this.#call && request.call_id && request.channel !== 'chat') void this.#joinCall(request);
        else if (!this.#call && (request.channel === 'chat' || !request.call_id)) this.#joinChat();
        else if (this.#call) {
          this.#showCallStatus();
          this.#showAgent();
        }
        break;
      case 'ended':
        if (this.#state === 'call' || this.#state === 'waiting') void this.#ended(Boolean(request.answered_at));
        break;
      case 'abandoned':
        if (this.#state === 'waiting') {
          this.#notice = this.#t('help.notAnswered');
          this.#finish();
        }
        break;
      default:
        break;
    }
  }

  async #cancelRequest() {
    const id = this.#request?.id;
    if (!id) return;
    try {
      await this.#api.request('POST', `/desk/requests/${id}/cancel`);
    } catch {
      // It may have been answered meanwhile; the frames say what happened.
    }
    this.#notice = '';
    this.#finish();
  }

  /** @param {boolean} answered */
  async #ended(answered) {
    await this.#leaveCall();
    if (answered && this.#request?.rating == null) this.#go('rating');
    else this.#finish();
  }

  /** Back to the start without a request. */
  #finish() {
    void this.#leaveCall();
    this.#socket?.stop();
    this.#socket = null;
    this.#request = null;
    this.#api.token = '';
    this.#go(this.#resting());
    void this.#readStatus();
  }

  #reset() {
    this.#notice = '';
    if (this.#request && ['waiting', 'opening'].includes(this.#state)) {
      void this.#cancelRequest();
      return;
    }
    this.#finish();
  }

  /** A kiosk returns to its start when nobody touched it for a while (not during a call). */
  #touched() {
    if (!this.kiosk) return;
    window.clearTimeout(this.#idleTimer);
    if (['idle', 'closed', 'hidden', 'loading', 'call', 'waiting', 'opening'].includes(this.#state)) return;
    const seconds = Number(this.getAttribute('idle-seconds'));
    this.#idleTimer = window.setTimeout(() => this.#reset(), seconds > 0 ? seconds * 1000 : kioskIdleMs);
  }

  // The call.

  /** @param {HelpRequest} request */
  async #joinCall(request) {
    const socket = this.#socket;
    const callId = request.call_id;
    if (!socket || !callId) return;
    const media = new CallMedia({
      callId,
      signaling: {
        request: (frame) => socket.request({ type: 'rtc', call_id: callId, ...frame }),
        send: (frame) => socket.send({ type: 'rtc', call_id: callId, ...frame }),
      },
    });
    this.#media = media;
    exposeForTests(media);
    this.#buildCall(request.channel === 'voice' ? 'voice' : 'video', media);
    this.#go('call');
    media.on('tracks', () => this.#showTracks());
    media.on('local', () => this.#showLocal());
    media.on('state', () => this.#showCallStatus());
    try {
      // Never a camera: one-way help, the customer only shows a screen.
      await media.connect({ camera: false });
    } catch (error) {
      if (this.#call) this.#call.status.textContent = this.#t('help.callFailed');
      return;
    }
    this.#showCallStatus();
    void this.#loadMessages();
  }

  /** A chat alone: no call, no media, the chat and End. */
  #joinChat() {
    this.#buildCall('chat', null);
    this.#go('call');
    this.#call?.element.querySelector('input')?.focus();
    void this.#loadMessages();
  }

  /**
   * @param {Channel} kind
   * @param {CallMedia | null} media null for a chat
   */
  #buildCall(kind, media) {
    const agent = new VideoTile();
    const screen = new VideoTile();
    /** @type {HTMLButtonElement | null} */
    let share = null;
    /** @type {HTMLButtonElement | null} */
    let mute = null;
    if (media) {
      share = el('button', { type: 'button', class: 'primary', 'aria-pressed': 'false' }, this.#t('help.shareScreen'));
      // Until the call has joined, the server has not said the screen may
      // be shared: a click then would do nothing.
      share.disabled = !media.may('screen');
      share.addEventListener('click', () => {
        const on = !media.local.has('screen');
        media.setScreen(on).catch(() => {
          if (this.#call) this.#call.status.textContent = this.#t('help.shareFailed');
        });
      });
      mute = el('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, this.#t('help.mute'));
      mute.addEventListener('click', () => void media.setMuted(!media.muted));
    }
    const end = el('button', { type: 'button', class: 'danger' }, this.#t('help.end'));
    end.addEventListener('click', () => void this.#endCall());
    const log = el('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': this.#t('help.chat') });
    const input = el('input', { type: 'text', id: 'help-chat', maxlength: 4000, autocomplete: 'off', placeholder: this.#t('help.chatPlaceholder') });
    const chat = el('form', { class: 'chat-form' },
      el('label', { for: 'help-chat', class: 'visually-hidden' }, this.#t('help.chatPlaceholder')), input,
      el('button', { type: 'submit', class: 'secondary' }, this.#t('help.send')));
    chat.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body || !this.#request) return;
      input.value = '';
      this.#api.request('POST', `/conversations/${this.#request.conversation_id}/messages`, { client_id: clientId(), body })
        .then((message) => this.#showMessage(message))
        .catch(() => {
          input.value = body;
        });
    });
    const status = el('p', { class: 'call-status', role: 'status' }, media ? this.#t('help.connectingCall') : this.#t('help.chatOnly'));
    const audio = el('div', { hidden: true });
    screen.element.classList.add('own-screen');
    screen.element.hidden = true;
    const title = el('h2', { class: 'panel-title' }, this.#agentTitle());
    const voice = kind === 'voice' ? el('p', { class: 'voice-call', 'aria-hidden': 'true' }, el('span', { class: 'voice-icon' }, '☎')) : null;
    const element = el('section', { class: `panel call is-${kind}`, role: 'dialog', 'aria-label': this.#t('help.title'), part: 'panel', 'data-kind': kind },
      title,
      status,
      media ? el('div', { class: 'stage' }, kind === 'video' ? agent.element : voice, screen.element) : null,
      el('div', { class: 'controls' }, share, mute, end),
      el('div', { class: 'chat' }, log, chat),
      audio);
    agent.element.classList.add('agent-camera');
    this.#call = { kind, agent, screen, layer: null, element, title, share, mute, log, audio, status };
    replaceChildren(this.#frame, element);
    this.#showTracks();
  }

  #agentTitle() {
    const name = this.#request?.agent_name;
    return name ? this.#t('help.withAgent', { name }) : this.#t('help.title');
  }

  /** The agent's name, again after a transfer. */
  #showAgent() {
    const call = this.#call;
    if (!call) return;
    call.title.textContent = this.#agentTitle();
    this.#showTracks();
  }

  /** @param {boolean} [transfer] the session is being handed to another agent */
  #showCallStatus(transfer = false) {
    const call = this.#call;
    if (!call) return;
    const status = this.#request?.status;
    if (transfer || status === 'waiting' || status === 'offered') {
      call.status.dataset.transfer = 'true';
      call.status.textContent = this.#t('help.transferring');
      return;
    }
    delete call.status.dataset.transfer;
    const media = this.#media;
    if (!media) {
      call.status.textContent = this.#t('help.chatOnly');
      return;
    }
    if (call.share) call.share.disabled = !media.may('screen');
    call.status.textContent = media.state === 'reconnecting' ? this.#t('help.reconnecting')
      : media.state === 'connected' ? this.#t('help.connected') : this.#t('help.connectingCall');
  }

  #showTracks() {
    const call = this.#call;
    const media = this.#media;
    if (!call || !media) return;
    const tracks = [...media.tracks.values()];
    // After a transfer the new agent's camera is the one to show (the
    // first agent's leaves with them).
    const camera = tracks.filter((t) => t.kind === 'video' && t.source === 'camera').at(-1);
    const name = this.#request?.agent_name || this.#t('help.agent');
    call.agent.update({
      id: camera?.participant_id ?? 'agent', name, source: 'camera',
      video: camera && !camera.paused ? media.remote.get(camera.id) ?? null : null,
    });
    // Sound: one audio element per incoming audio track.
    const wanted = new Map(tracks.filter((t) => t.kind === 'audio').map((t) => [t.id, media.remote.get(t.id)]));
    for (const node of [...call.audio.children]) {
      const audio = /** @type {HTMLAudioElement} */ (node);
      if (!wanted.has(audio.dataset.track ?? '')) audio.remove();
    }
    for (const [id, track] of wanted) {
      if (!track || call.audio.querySelector(`audio[data-track="${CSS.escape(id)}"]`)) continue;
      const audio = el('audio', { autoplay: true, 'data-track': id });
      audio.srcObject = new MediaStream([track]);
      call.audio.append(audio);
      audio.play().catch(() => {});
    }
  }

  #showLocal() {
    const call = this.#call;
    const media = this.#media;
    if (!call || !media) return;
    const screen = media.local.get('screen') ?? null;
    if (call.share) {
      call.share.textContent = screen ? this.#t('help.stopSharing') : this.#t('help.shareScreen');
      call.share.setAttribute('aria-pressed', String(Boolean(screen)));
    }
    if (call.mute) {
      call.mute.textContent = media.muted ? this.#t('help.unmute') : this.#t('help.mute');
      call.mute.setAttribute('aria-pressed', String(media.muted));
    }
    call.screen.element.hidden = !screen;
    call.screen.update({ id: 'me', name: this.#t('help.yourScreen'), source: 'screen', video: screen, self: true });
    if (screen && !call.layer && media.participantId) {
      // The agent's drawings over this screen, from the call's record.
      call.layer = new AnnotationLayer({ media, tile: call.screen, target: media.participantId, drawable: false, label: this.#t('help.drawings') });
    }
  }

  async #endCall() {
    const id = this.#request?.id;
    if (!id) return;
    try {
      const request = await this.#api.request('POST', `/desk/requests/${id}/end`);
      this.#update(request);
    } catch {
      await this.#ended(true);
    }
  }

  async #leaveCall() {
    const media = this.#media;
    const call = this.#call;
    this.#media = null;
    this.#call = null;
    this.#seenMessages.clear();
    call?.layer?.destroy();
    call?.agent.destroy();
    call?.screen.destroy();
    call?.element.remove();
    if (media) await media.leave();
  }

  async #loadMessages() {
    const id = this.#request?.conversation_id;
    if (!id) return;
    try {
      const page = await this.#api.request('GET', `/conversations/${id}/messages?limit=50`);
      const items = Array.isArray(page?.items) ? [...page.items] : [];
      items.sort((a, b) => a.seq - b.seq);
      for (const message of items) this.#showMessage(message);
    } catch {
      // The live ones still arrive.
    }
  }

  /** @param {{ id: string, seq: number, sender_id: string, body: string, deleted?: boolean }} message */
  #showMessage(message) {
    const call = this.#call;
    if (!call || this.#seenMessages.has(message.id) || message.deleted || !message.body) return;
    this.#seenMessages.add(message.id);
    const mine = message.sender_id === this.#request?.customer_id;
    const who = mine ? this.#t('help.you') : this.#request?.agent_name || this.#t('help.agent');
    const item = el('li', { class: mine ? 'mine' : 'theirs', 'data-seq': message.seq },
      el('span', { class: 'who' }, who), el('span', { class: 'body' }, message.body));
    const after = [...call.log.children].find((node) => Number(/** @type {HTMLElement} */ (node).dataset.seq) > message.seq);
    call.log.insertBefore(item, after ?? null);
    call.log.scrollTop = call.log.scrollHeight;
  }
}

/** A short description of the device, for the agent. */
function deviceName() {
  const ua = navigator.userAgent;
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : '';
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : '';
  return [browser, os].filter(Boolean).join(' · ').slice(0, 200) || ua.slice(0, 200);
}

function clientId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Browser tests read the customer's media through window.__parleyHelp,
 * only when they asked (localStorage "parley.debug" = "calls").
 * @param {CallMedia} media
 */
function exposeForTests(media) {
  let wanted = false;
  try {
    wanted = localStorage.getItem('parley.debug') === 'calls';
  } catch {
    wanted = false;
  }
  if (wanted) /** @type {any} */ (window).__parleyHelp = media;
}

if (!customElements.get('parley-help')) customElements.define('parley-help', ParleyHelp);

/**
 * Makes a <parley-help> with its attributes.
 * @param {Record<string, string | boolean>} attributes
 * @returns {ParleyHelp}
 */
export function createHelp(attributes) {
  const help = /** @type {ParleyHelp} */ (document.createElement('parley-help'));
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) help.setAttribute(name, '');
    else if (value) help.setAttribute(name, value);
  }
  return help;
}
