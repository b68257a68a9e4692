// The agent console (/desk): the agent's status (available, away,
// offline), the offers that ring for them (the customer's name or
// "Guest", verified or not, queue, page or kiosk location, device, earlier
// requests; Accept or Decline before the countdown runs out), the session
// (the customer's shared screen large with the drawing tools, the agent's
// own camera small, the chat, private notes, End) and the wrap-up (a
// reason code and notes) before the next offer.
//
// The console has a realtime connection of its own for `desk` news and the
// call's `rtc` frames, beside the messenger's: it stays up while the agent
// looks at other screens, and ends with the messenger session (sign-out).

import { el, replaceChildren } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { VideoTile } from '../components/video-tile.js';
import { CallMedia } from '../calls/call-media.js';
import { AnnotationLayer } from '../calls/annotation-layer.js';
import { RealtimeSocket } from '../realtime/socket.js';
import { ApiError } from '../api.js';
import { DeskApi } from './desk-api.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */
/** @typedef {import('./desk-api.js').DeskAgent} DeskAgent */
/** @typedef {import('./desk-api.js').DeskRequest} DeskRequest */
/** @typedef {import('./desk-api.js').Offer} Offer */
/** @typedef {import('../realtime/socket.js').ServerFrame} ServerFrame */

/** Reason codes offered at wrap-up. */
const wrapUpCodes = /** @type {const} */ (['resolved', 'follow-up', 'not-resolved', 'other']);

/** The pen's colours. */
const colours = ['#ff3b30', '#ffcc00', '#34c759', '#0a84ff', '#ffffff'];

/** @type {DeskConsole | null} */
let current = null;

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function deskConsoleView(ctx) {
  const user = ctx.user;
  if (!user) throw new Error('deskConsoleView: nobody is signed in');
  if (!current || current.userId !== user.id) {
    current?.stop();
    current = new DeskConsole(ctx);
    const made = current;
    ctx.messenger?.onStop(() => {
      made.stop();
      if (current === made) current = null;
    });
  }
  current.ctx = ctx;
  current.render();
  return { element: current.element, title: ctx.i18n.t('desk.title'), layout: 'app', focus: () => current?.focus() };
}

class DeskConsole {
  /** @type {ViewContext} */
  ctx;
  userId;
  element = el('div', { class: 'desk-console' });
  #api = new DeskApi();
  #notice = Notice.create('error');
  /** @type {DeskAgent | null} */
  #agent = null;
  #notAgent = false;
  /** @type {Map<string, Offer>} */
  #offers = new Map();
  /** @type {DeskRequest | null} the session going on */
  #session = null;
  /** @type {DeskRequest | null} the session to wrap up */
  #wrapUp = null;
  /** @type {RealtimeSocket} */
  #socket;
  /** @type {Session | null} */
  #live = null;
  /** @type {number | undefined} */
  #tick;
  #loaded = false;

  /** @param {ViewContext} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.userId = ctx.user?.id ?? '';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#socket = new RealtimeSocket({
      url: `${scheme}//${location.host}/api/v1/ws`,
      onHello: () => void this.#load(),
      onFrame: (frame) => this.#frame(frame),
      onState: () => this.#renderStatus(),
    });
    this.#socket.start();
    this.#tick = window.setInterval(() => this.#countdown(), 1000);
  }

  get #i18n() {
    return this.ctx.i18n;
  }

  /**
   * @param {MessageKey} key
   * @param {Record<string, string | number>} [params]
   */
  #t(key, params) {
    return this.ctx.i18n.t(key, params);
  }

  focus() {
    /** @type {HTMLElement | null} */ (this.element.querySelector('h1'))?.focus();
  }

  stop() {
    window.clearInterval(this.#tick);
    this.#live?.close(true);
    this.#live = null;
    this.#socket.stop();
  }

  /** Reads the agent, the offers and the sessions afresh (each (re)connection). */
  async #load() {
    try {
      this.#agent = await this.#api.me();
      this.#notAgent = false;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.#notAgent = true;
        this.#loaded = true;
        this.render();
        return;
      }
      this.#showError(error);
      return;
    }
    try {
      const [offers, sessions] = await Promise.all([this.#api.offers(), this.#api.sessions()]);
      this.#offers = new Map(offers.items.map((offer) => [offer.id, offer]));
      const active = sessions.items.find((r) => r.status === 'active');
      const unwrapped = sessions.items.find((r) => r.status === 'ended' && !r.wrapup_code);
      if (active && (!this.#session || this.#session.id !== active.id)) this.#startSession(active);
      else if (!active && this.#session) this.#sessionEnded(this.#session);
      if (!this.#session && unwrapped && !this.#wrapUp) this.#wrapUp = unwrapped;
    } catch (error) {
      this.#showError(error);
    }
    this.#loaded = true;
    this.render();
  }

  /** @param {unknown} error */
  #showError(error) {
    if (this.ctx.intercept(error)) return;
    this.#notice.show(describeError(error, this.#i18n));
  }

  /** @param {ServerFrame} frame */
  #frame(frame) {
    if (frame.type === 'rtc') {
      if (this.#live && frame.call_id === this.#live.media.callId) this.#live.media.receive(frame);
      return;
    }
    if (frame.type === 'event') {
      const event = frame.event;
      if (this.#live && event?.conversation_id === this.#live.request.conversation_id && event.type === 'message.created' && event.message) {
        this.#live.showMessage(event.message);
      }
      return;
    }
    if (frame.type !== 'desk' || !frame.desk) return;
    const news = frame.desk;
    switch (news.kind) {
      case 'offer':
        if (news.offer?.id) this.#offers.set(news.offer.id, news.offer);
        this.#renderOffers();
        break;
      case 'offer_expired':
      case 'offer_withdrawn': {
        const id = news.offer?.id ?? news[news.kind]?.id ?? news.offer_id;
        if (id) this.#offers.delete(id);
        else void this.#reloadOffers();
        this.#renderOffers();
        break;
      }
      case 'agent':
        if (news.agent) this.#agent = news.agent;
        this.#renderStatus();
        break;
      case 'request': {
        /** @type {DeskRequest | undefined} */
        const request = news.request;
        if (!request) break;
        if (this.#session && request.id === this.#session.id) {
          this.#session = { ...this.#session, ...request };
          if (request.status === 'ended') this.#sessionEnded(this.#session);
        }
        break;
      }
      default:
        break;
    }
  }

  async #reloadOffers() {
    try {
      const offers = await this.#api.offers();
      this.#offers = new Map(offers.items.map((offer) => [offer.id, offer]));
      this.#renderOffers();
    } catch {
      // The next news tries again.
    }
  }

  // Drawing.

  #statusBox = el('div', { class: 'desk-status' });
  #offersBox = el('section', { class: 'desk-offers', 'aria-live': 'polite' });
  #mainBox = el('div', { class: 'desk-main' });

  render() {
    const i18n = this.#i18n;
    if (!this.#loaded) {
      replaceChildren(this.element, el('h1', { tabindex: -1, class: 'visually-hidden' }, i18n.t('desk.title')), el('p', { class: 'muted desk-loading' }, i18n.t('app.loading')));
      return;
    }
    if (this.#notAgent) {
      replaceChildren(this.element, el('section', { class: 'card' },
        el('h1', { tabindex: -1 }, i18n.t('desk.title')), el('p', {}, i18n.t('desk.notAgent'))));
      return;
    }
    if (this.#live) {
      // The session's nodes (videos, canvas) stay; only the frame around them is redrawn.
      replaceChildren(this.element, this.#header(), this.#notice, this.#live.element);
      return;
    }
    replaceChildren(this.element, this.#header(), this.#notice, this.#offersBox, this.#mainBox);
    this.#renderStatus();
    this.#renderOffers();
    this.#renderMain();
  }

  #header() {
    const links = this.#agent?.manager ? el('a', { href: '/desk/manage', class: 'button-secondary' }, this.#t('desk.manage')) : null;
    return el('header', { class: 'desk-header' },
      el('h1', { tabindex: -1 }, this.#t('desk.title')), this.#statusBox, links);
  }

  #renderStatus() {
    const agent = this.#agent;
    if (!agent) {
      replaceChildren(this.#statusBox);
      return;
    }
    this.element.dataset.status = agent.status;
    const select = el('select', { id: 'desk-status', name: 'status' });
    const choices = ['available', 'away', 'offline'];
    for (const status of choices) {
      select.append(el('option', { value: status, selected: agent.status === status }, this.#statusName(status)));
    }
    if (!choices.includes(agent.status)) {
      select.prepend(el('option', { value: agent.status, selected: true, disabled: true }, this.#statusName(agent.status)));
    }
    select.addEventListener('change', async () => {
      this.#notice.clear();
      try {
        this.#agent = await this.#api.setStatus(/** @type {'available' | 'away' | 'offline'} */ (select.value));
      } catch (error) {
        this.#showError(error);
      }
      this.#renderStatus();
      this.#renderMain();
    });
    const socket = this.#socket.state === 'open' ? null : el('span', { class: 'desk-offline' }, this.#t('desk.reconnecting'));
    replaceChildren(this.#statusBox, el('label', { for: 'desk-status' }, this.#t('desk.status')), select, socket);
  }

  /** @param {string} status */
  #statusName(status) {
    const key = `desk.status.${status}`;
    return this.#i18n.has(key) ? this.#i18n.t(key) : status;
  }

  #renderOffers() {
    if (this.#live) return;
    const offers = [...this.#offers.values()];
    replaceChildren(this.#offersBox, ...offers.map((offer) => this.#offerCard(offer)));
    this.#countdown();
    this.#renderMain();
  }

  /** @param {Offer} offer */
  #offerCard(offer) {
    const r = offer.request;
    const name = r?.name || this.#t('desk.guest');
    const badge = r?.identity === 'verified' ? el('span', { class: 'desk-badge is-verified' }, this.#t('desk.verified'))
      : r?.identity === 'forged' ? el('span', { class: 'desk-badge is-forged', role: 'note' }, this.#t('desk.forged'))
        : r?.identity === 'member' ? el('span', { class: 'desk-badge' }, this.#t('desk.member'))
          : el('span', { class: 'desk-badge' }, this.#t('desk.guestBadge'));
    /** @type {[MessageKey, string | undefined][]} */
    const facts = [
      ['desk.queue', r?.queue_name], ['desk.location', r?.location], ['desk.page', r?.page], ['desk.device', r?.device],
      ['desk.channel', r?.channel],
    ];
    const history = offer.history ?? [];
    const accept = el('button', { type: 'button', class: 'button-primary' }, this.#t('desk.accept'));
    const decline = el('button', { type: 'button', class: 'button-secondary' }, this.#t('desk.decline'));
    accept.addEventListener('click', () => void this.#accept(offer, accept));
    decline.addEventListener('click', async () => {
      this.#offers.delete(offer.id);
      this.#renderOffers();
      await this.#api.decline(offer.id).catch(() => {});
    });
    return el('article', { class: 'card desk-offer', 'data-offer': offer.id, 'aria-labelledby': `offer-${offer.id}` },
      el('div', { class: 'desk-offer-head' },
        el('h2', { id: `offer-${offer.id}` }, name), badge,
        el('span', { class: 'desk-countdown', 'data-expires': offer.expires_at, role: 'timer' })),
      el('dl', { class: 'desk-facts' }, ...facts.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, this.#t(k)), el('dd', {}, v ?? '')])),
      history.length > 0 ? el('details', { class: 'desk-history' },
        el('summary', {}, this.#t('desk.history', { count: history.length })),
        el('ul', {}, ...history.map((h) => el('li', {},
          `${this.#i18n.formatDateTime(h.created_at)} · ${h.queue_name} · ${this.#statusName(h.status)}`,
          h.rating ? ` · ${'★'.repeat(h.rating)}` : '', h.wrapup_code ? ` · ${h.wrapup_code}` : '')))) : null,
      el('div', { class: 'desk-actions' }, accept, decline));
  }

  #countdown() {
    const now = Date.now();
    for (const node of this.element.querySelectorAll('.desk-countdown')) {
      const expires = Date.parse(/** @type {HTMLElement} */ (node).dataset.expires ?? '');
      const seconds = Math.max(0, Math.ceil((expires - now) / 1000));
      node.textContent = this.#t('desk.seconds', { seconds });
    }
  }

  /**
   * @param {Offer} offer
   * @param {HTMLButtonElement} button
   */
  async #accept(offer, button) {
    button.disabled = true;
    this.#notice.clear();
    try {
      const request = await this.#api.accept(offer.id);
      this.#offers.clear();
      this.#startSession(request);
    } catch (error) {
      this.#offers.delete(offer.id);
      if (error instanceof ApiError && error.status === 409) this.#notice.show(this.#t('desk.offerGone'));
      else this.#showError(error);
      this.render();
    }
  }

  #renderMain() {
    if (this.#live) return;
    if (this.#wrapUp) {
      replaceChildren(this.#mainBox, this.#wrapUpForm(this.#wrapUp));
      return;
    }
    if (this.#offers.size > 0) {
      replaceChildren(this.#mainBox);
      return;
    }
    const status = this.#agent?.status ?? 'offline';
    replaceChildren(this.#mainBox, el('section', { class: 'card desk-idle' },
      el('p', {}, status === 'available' ? this.#t('desk.waitingForCustomers') : this.#t('desk.goAvailable'))));
  }

  /** @param {DeskRequest} request */
  #wrapUpForm(request) {
    const code = el('select', { id: 'wrapup-code', required: true },
      el('option', { value: '' }, this.#t('desk.chooseCode')),
      ...wrapUpCodes.map((c) => el('option', { value: c }, this.#t(/** @type {MessageKey} */ (`desk.code.${c}`)))));
    const notes = el('textarea', { id: 'wrapup-notes', rows: 4, maxlength: 10000 });
    notes.value = request.notes ?? '';
    const form = el('form', { class: 'card desk-wrapup', 'aria-labelledby': 'wrapup-title' },
      el('h2', { id: 'wrapup-title' }, this.#t('desk.wrapUpTitle', { name: request.name || this.#t('desk.guest') })),
      el('div', { class: 'field' }, el('label', { for: 'wrapup-code' }, this.#t('desk.code')), code),
      el('div', { class: 'field' }, el('label', { for: 'wrapup-notes' }, this.#t('desk.notes')), notes),
      el('div', { class: 'desk-actions' }, el('button', { type: 'submit', class: 'button-primary' }, this.#t('desk.finishWrapUp'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!code.value) {
        code.focus();
        return;
      }
      try {
        await this.#api.wrapUp(request.id, code.value, notes.value);
        this.#wrapUp = null;
        this.#agent = await this.#api.me().catch(() => this.#agent);
        this.render();
      } catch (error) {
        this.#showError(error);
      }
    });
    return form;
  }

  // The session.

  /** @param {DeskRequest} request */
  #startSession(request) {
    this.#session = request;
    this.#wrapUp = null;
    this.#live?.close(true);
    if (!request.call_id) return;
    const callId = request.call_id;
    const media = new CallMedia({
      callId,
      signaling: {
        request: (frame) => this.#socket.request({ type: 'rtc', call_id: callId, ...frame }),
        send: (frame) => this.#socket.send({ type: 'rtc', call_id: callId, ...frame }),
      },
    });
    exposeForTests(media);
    this.#live = new Session({
      i18n: this.#i18n, request, media, api: this.#api, ctx: this.ctx,
      end: () => void this.#end(),
      error: (error) => this.#showError(error),
    });
    this.render();
    media.connect({ camera: true }).catch((error) => this.#showError(error));
  }

  async #end() {
    const session = this.#session;
    if (!session) return;
    try {
      const ended = await this.#api.end(session.id);
      this.#sessionEnded({ ...session, ...ended });
    } catch (error) {
      this.#showError(error);
    }
  }

  /** @param {DeskRequest} request */
  #sessionEnded(request) {
    const notes = this.#live?.notes;
    this.#live?.close(false);
    this.#live = null;
    this.#session = null;
    this.#wrapUp = { ...request, notes: notes ?? request.notes };
    this.render();
  }
}

/**
 * One session on screen: the customer's screen with the drawing tools,
 * the agent's camera, the chat and the notes.
 */
class Session {
  /** @type {HTMLElement} */
  element;
  /** @type {DeskRequest} */
  request;
  /** @type {CallMedia} */
  media;
  #i18n;
  #api;
  #ctx;
  #screen = new VideoTile();
  #self = new VideoTile();
  /** @type {AnnotationLayer | null} */
  #layer = null;
  #log = el('ol', { class: 'desk-chat-log' });
  #audio = el('div', { hidden: true });
  #notes = el('textarea', { id: 'desk-notes', rows: 5, maxlength: 10000 });
  #waiting;
  #tools;
  /** @type {Set<string>} */
  #seen = new Set();
  /** @type {(() => void)[]} */
  #cleanup = [];

  /**
   * @param {{ i18n: I18n, request: DeskRequest, media: CallMedia, api: DeskApi, ctx: ViewContext, end: () => void, error: (error: unknown) => void }} options
   */
  constructor({ i18n, request, media, api, ctx, end, error }) {
    this.#i18n = i18n;
    this.#api = api;
    this.#ctx = ctx;
    this.request = request;
    this.media = media;
    const t = i18n.t.bind(i18n);
    this.#notes.value = request.notes ?? '';
    this.#waiting = el('p', { class: 'desk-no-screen' }, t('desk.noScreen'));
    this.#screen.element.classList.add('desk-screen');

    // Drawing tools.
    /** @param {'pen' | 'pointer'} tool */
    const toolButton = (tool) => {
      const button = el('button', { type: 'button', class: 'button-secondary', 'aria-pressed': String(tool === 'pen'), 'data-tool': tool },
        t(tool === 'pen' ? 'desk.pen' : 'desk.pointer'));
      button.addEventListener('click', () => {
        if (this.#layer) this.#layer.tool = tool;
        for (const b of this.#tools.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b === button));
      });
      return button;
    };
    const colour = el('select', { id: 'desk-colour', 'aria-label': t('desk.colour') },
      ...colours.map((c, i) => el('option', { value: c }, t(/** @type {MessageKey} */ (`desk.colour.${i}`)))));
    colour.addEventListener('change', () => {
      if (this.#layer) this.#layer.color = colour.value;
    });
    const undo = el('button', { type: 'button', class: 'button-secondary' }, t('desk.undo'));
    undo.addEventListener('click', () => this.#layer?.undo());
    const clear = el('button', { type: 'button', class: 'button-secondary' }, t('desk.clear'));
    clear.addEventListener('click', () => this.#layer?.clear());
    this.#tools = el('div', { class: 'desk-tools', role: 'toolbar', 'aria-label': t('desk.tools') },
      toolButton('pen'), toolButton('pointer'), el('label', { for: 'desk-colour' }, t('desk.colour')), colour, undo, clear);

    // Chat.
    const input = el('input', { type: 'text', id: 'desk-chat', autocomplete: 'off', maxlength: 4000 });
    const chat = el('form', { class: 'desk-chat-form' },
      el('label', { for: 'desk-chat', class: 'visually-hidden' }, t('desk.chatLabel')), input,
      el('button', { type: 'submit', class: 'button-secondary' }, t('desk.send')));
    chat.addEventListener('submit', (event) => {
      event.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      input.value = '';
      this.#ctx.api.sendMessage(request.conversation_id, { client_id: clientId(), body })
        .then((message) => this.showMessage(message))
        .catch((e) => {
          input.value = body;
          error(e);
        });
    });

    const saveNotes = el('button', { type: 'button', class: 'button-secondary' }, t('desk.saveNotes'));
    saveNotes.addEventListener('click', () => {
      this.#api.notes(request.id, this.#notes.value).catch(error);
    });
    const endButton = el('button', { type: 'button', class: 'button-danger' }, t('desk.end'));
    endButton.addEventListener('click', end);

    const identity = request.identity === 'verified' ? el('span', { class: 'desk-badge is-verified' }, t('desk.verified'))
      : request.identity === 'forged' ? el('span', { class: 'desk-badge is-forged' }, t('desk.forged')) : null;
    this.element = el('section', { class: 'desk-session', 'aria-labelledby': 'desk-session-title' },
      el('div', { class: 'desk-stage' },
        el('div', { class: 'desk-session-head' },
          el('h2', { id: 'desk-session-title' }, t('desk.sessionWith', { name: request.name || t('desk.guest') })), identity,
          el('span', { class: 'muted' }, [request.queue_name, request.location, request.device].filter(Boolean).join(' · '))),
        this.#tools, this.#waiting, this.#screen.element,
        el('div', { class: 'desk-self' }, this.#self.element)),
      el('aside', { class: 'desk-side' },
        el('h3', {}, t('desk.chat')), this.#log, chat,
        el('label', { for: 'desk-notes' }, t('desk.privateNotes')), this.#notes, saveNotes,
        endButton),
      this.#audio);
    this.#cleanup.push(media.on('tracks', () => this.#showTracks()), media.on('local', () => this.#showSelf()));
    this.#showTracks();
    void this.#loadMessages();
  }

  get notes() {
    return this.#notes.value;
  }

  #showSelf() {
    const camera = this.media.local.get('camera') ?? null;
    this.#self.update({ id: this.#ctx.user?.id ?? 'me', name: this.#i18n.t('desk.you'), source: 'camera', video: camera, self: true });
  }

  #showTracks() {
    const media = this.media;
    const tracks = [...media.tracks.values()];
    const screen = tracks.find((track) => track.kind === 'video' && track.source === 'screen');
    const video = screen ? media.remote.get(screen.id) ?? null : null;
    this.#waiting.hidden = Boolean(video);
    this.#screen.element.hidden = !video;
    this.#screen.update({ id: screen?.participant_id ?? 'customer', name: this.request.name || this.#i18n.t('desk.guest'), source: 'screen', video, paused: screen?.paused, pausedLabel: this.#i18n.t('desk.screenPaused') });
    if (screen && (!this.#layer || this.#layer.target !== screen.participant_id)) {
      const tool = this.#layer?.tool ?? 'pen';
      const colour = this.#layer?.color ?? colours[0];
      this.#layer?.destroy();
      this.#layer = new AnnotationLayer({ media, tile: this.#screen, target: screen.participant_id, drawable: media.permissions.annotate, label: this.#i18n.t('desk.drawings') });
      this.#layer.tool = tool;
      this.#layer.color = colour;
    }
    this.#tools.hidden = !this.#layer;
    const wanted = new Map(tracks.filter((t) => t.kind === 'audio').map((t) => [t.id, media.remote.get(t.id)]));
    for (const node of [...this.#audio.children]) {
      if (!wanted.has(/** @type {HTMLElement} */ (node).dataset.track ?? '')) node.remove();
    }
    for (const [id, track] of wanted) {
      if (!track || this.#audio.querySelector(`audio[data-track="${CSS.escape(id)}"]`)) continue;
      const audio = el('audio', { autoplay: true, 'data-track': id });
      audio.srcObject = new MediaStream([track]);
      this.#audio.append(audio);
      audio.play().catch(() => {});
    }
    this.#showSelf();
  }

  async #loadMessages() {
    try {
      const page = await this.#ctx.api.messages(this.request.conversation_id, { limit: 50 });
      for (const message of [...page.items].sort((a, b) => a.seq - b.seq)) this.showMessage(message);
    } catch {
      // The live ones still arrive.
    }
  }

  /** @param {{ id: string, seq: number, sender_id: string, body: string, deleted?: boolean }} message */
  showMessage(message) {
    if (this.#seen.has(message.id) || message.deleted || !message.body) return;
    this.#seen.add(message.id);
    const mine = message.sender_id === this.#ctx.user?.id;
    const item = el('li', { class: mine ? 'mine' : 'theirs', 'data-seq': message.seq },
      el('span', { class: 'who' }, mine ? this.#i18n.t('desk.you') : this.request.name || this.#i18n.t('desk.guest')),
      el('span', { class: 'body' }, message.body));
    const after = [...this.#log.children].find((node) => Number(/** @type {HTMLElement} */ (node).dataset.seq) > message.seq);
    this.#log.insertBefore(item, after ?? null);
    this.#log.scrollTop = this.#log.scrollHeight;
  }

  /** @param {boolean} leave tell the server this device leaves (else the call ended) */
  close(leave) {
    for (const cleanup of this.#cleanup) cleanup();
    this.#layer?.destroy();
    this.#screen.destroy();
    this.#self.destroy();
    if (leave) void this.media.leave();
    else this.media.close();
    this.element.remove();
  }
}

function clientId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Browser tests read the agent's media through window.__parleyDesk, only
 * when they asked (localStorage "parley.debug" = "calls").
 * @param {CallMedia} media
 */
function exposeForTests(media) {
  let wanted = false;
  try {
    wanted = localStorage.getItem('parley.debug') === 'calls';
  } catch {
    wanted = false;
  }
  if (wanted) /** @type {any} */ (window).__parleyDesk = media;
}
