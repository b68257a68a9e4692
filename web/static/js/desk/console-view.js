// The agent console (/desk): the agent's status (available, away,
// offline), the offers that ring for them (the customer's name or
// "Guest", verified or not, queue, page or kiosk location, device, earlier
// requests, a transfer or a booked callback; Accept or Decline before the
// countdown runs out), the session and the wrap-up (a reason code and
// notes) before the next offer.
//
// A session is one of four kinds: video (the customer's shared screen
// large with the drawing tools, the agent's own camera small), voice (the
// same without any camera: the connect ack's permissions say what this
// device may publish), chat (no call at all) and a booked callback (the
// customer is not online: their contact, notes and End). Each has the
// chat (not a callback), private notes, Transfer and End.
//
// Transfer hands the session to another queue's line or, for managers who
// may list the agents, to one agent; cold lets go at once, warm keeps this
// agent in the session ("Transferring…") until a `request` frame shows it
// taken by someone else. The next agent accepts an ordinary offer and
// joins the call that goes on (the request's call_id); the customer stays
// in it throughout.
//
// The console has a realtime connection of its own for `desk` news and the
// call's `rtc` frames, beside the messenger's: it stays up while the agent
// looks at other screens, and ends with the messenger session (sign-out).

import { el, replaceChildren } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { describeError } from '../components/form-controller.js';
import { CallMedia } from '../calls/call-media.js';
import { RealtimeSocket } from '../realtime/socket.js';
import { ApiError } from '../api.js';
import { DeskApi } from './desk-api.js';
import { Session, exposeForTests, sessionKind } from './desk-session.js';

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
  /** @type {{ request: DeskRequest, reason: 'transferred' | 'left' } | null} a session handed on (or left during a warm transfer) */
  #handedOn = null;
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
      else if (!active && this.#session) {
        // A warm transfer's request is back in a line, not "active": ask it.
        if (this.#live?.transferring) await this.#checkTransfer();
        else this.#sessionEnded(this.#session);
      }
      if (!this.#session && unwrapped && !this.#wrapUp && !this.#handedOn) this.#wrapUp = unwrapped;
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
      const media = this.#live?.media;
      if (media && frame.call_id === media.callId) media.receive(frame);
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
        // A customer who gives up during a warm transfer frees the agent
        // without a request frame: look at the request.
        if (this.#live?.transferring) void this.#checkTransfer();
        break;
      case 'request': {
        /** @type {DeskRequest | undefined} */
        const request = news.request;
        if (!request) break;
        if (this.#session && request.id === this.#session.id) this.#sessionNews({ ...this.#session, ...request });
        break;
      }
      default:
        break;
    }
  }

  /**
   * The session moved: ended, taken by the next agent after a warm
   * transfer, or given up by the customer.
   * @param {DeskRequest} request
   */
  #sessionNews(request) {
    this.#session = request;
    if (request.status === 'ended') this.#sessionEnded(request);
    else if (request.agent_id && request.agent_id !== this.userId) this.#leave(request, 'transferred');
    else if (request.status === 'abandoned') this.#leave(request, 'left');
    else this.#live?.update(request);
  }

  /** Reads the request of a warm transfer going on. */
  async #checkTransfer() {
    const session = this.#session;
    if (!session) return;
    try {
      const request = await this.#api.get(session.id);
      if (this.#session?.id === session.id) this.#sessionNews({ ...session, ...request });
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.#leave(session, 'transferred');
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
      ['desk.channel', r?.channel ? this.#channelName(r.channel) : undefined], ['desk.contact', r?.callback_contact],
    ];
    const callback = r?.callback_contact ? el('p', { class: 'desk-callback-hint' },
      el('strong', {}, this.#t('desk.callbackHint', { contact: r.callback_contact })),
      r.callback_at ? ` · ${this.#t('desk.callbackAt', { time: this.#i18n.formatDateTime(r.callback_at) })}` : '') : null;
    const tags = [
      r?.callback_contact ? el('span', { class: 'desk-badge is-callback' }, this.#t('desk.callbackBadge')) : null,
      r?.transfers ? el('span', { class: 'desk-badge is-transfer' }, this.#t('desk.transferBadge')) : null,
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
        el('h2', { id: `offer-${offer.id}` }, name), badge, ...tags,
        el('span', { class: 'desk-countdown', 'data-expires': offer.expires_at, role: 'timer' })),
      callback,
      el('dl', { class: 'desk-facts' }, ...facts.filter(([, v]) => v).flatMap(([k, v]) => [el('dt', {}, this.#t(k)), el('dd', {}, v ?? '')])),
      history.length > 0 ? el('details', { class: 'desk-history' },
        el('summary', {}, this.#t('desk.history', { count: history.length })),
        el('ul', {}, ...history.map((h) => el('li', {},
          `${this.#i18n.formatDateTime(h.created_at)} · ${h.queue_name} · ${this.#statusName(h.status)}`,
          h.rating ? ` · ${'★'.repeat(h.rating)}` : '', h.wrapup_code ? ` · ${h.wrapup_code}` : '')))) : null,
      el('div', { class: 'desk-actions' }, accept, decline));
  }

  /** @param {string} channel */
  #channelName(channel) {
    const key = `desk.channel.${channel}`;
    return this.#i18n.has(key) ? this.#i18n.t(key) : channel;
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
    if (this.#handedOn) {
      replaceChildren(this.#mainBox, this.#handedOnCard(this.#handedOn.request, this.#handedOn.reason));
      return;
    }
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

  /**
   * After a transfer: the session is the next agent's now, so there is
   * nothing to record here (the notes went with it); the agent is in
   * wrap-up until they say they are ready, or its time runs out.
   * @param {DeskRequest} request
   * @param {'transferred' | 'left'} reason
   */
  #handedOnCard(request, reason) {
    const name = request.name || this.#t('desk.guest');
    const ready = el('button', { type: 'button', class: 'button-primary' }, this.#t('desk.ready'));
    ready.addEventListener('click', async () => {
      this.#notice.clear();
      try {
        if (this.#agent?.status === 'wrapup') this.#agent = await this.#api.setStatus('available');
        this.#handedOn = null;
        this.render();
      } catch (error) {
        this.#showError(error);
      }
    });
    return el('section', { class: 'card desk-wrapup desk-handed-on', 'aria-labelledby': 'handed-on-title' },
      el('h2', { id: 'handed-on-title', tabindex: -1 }, this.#t(reason === 'left' ? 'desk.customerLeftTitle' : 'desk.transferredTitle', { name })),
      el('p', {}, this.#t(reason === 'left' ? 'desk.customerLeft' : 'desk.transferredText')),
      el('div', { class: 'desk-actions' }, ready));
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
    this.#handedOn = null;
    this.#live?.close(true);
    this.#live = null;
    const kind = sessionKind(request);
    /** @type {CallMedia | null} */
    let media = null;
    const callId = request.call_id;
    // A callback's customer is not online, and a chat has no call: no media.
    if (callId && (kind === 'video' || kind === 'voice')) {
      media = new CallMedia({
        callId,
        signaling: {
          request: (frame) => this.#socket.request({ type: 'rtc', call_id: callId, ...frame }),
          send: (frame) => this.#socket.send({ type: 'rtc', call_id: callId, ...frame }),
        },
      });
      exposeForTests(media);
    }
    this.#live = new Session({
      i18n: this.#i18n, request, kind, media, api: this.#api, ctx: this.ctx, manager: Boolean(this.#agent?.manager),
      end: () => void this.#end(),
      transfer: (target) => this.#transfer(target),
      error: (error) => this.#showError(error),
    });
    this.render();
    // The session's call goes on after a transfer: this joins it (the
    // request's call_id), whoever started it. Only a video session asks
    // for a camera, and only if the server lets this device send one.
    media?.connect({ camera: kind === 'video' }).catch((error) => this.#showError(error));
  }

  async #end() {
    const session = this.#session;
    if (!session) return;
    try {
      // The notes are kept with the request before it ends (a reload in
      // wrap-up finds them).
      if (this.#live) await this.#api.notes(session.id, this.#live.notes).catch(() => {});
      const ended = await this.#api.end(session.id);
      // The `request` frame may have told it first.
      if (this.#session?.id === session.id) this.#sessionEnded({ ...session, ...ended });
    } catch (error) {
      this.#showError(error);
    }
  }

  /**
   * Hands the session on. Cold: this agent is out of it at once. Warm:
   * they stay until the next agent accepts (a request frame says so).
   * @param {{ queue?: string, agent?: string, warm: boolean }} target
   */
  async #transfer(target) {
    const session = this.#session;
    const live = this.#live;
    if (!session || !live) return;
    this.#notice.clear();
    // The notes go with the session: the next agent reads them.
    await this.#api.notes(session.id, live.notes).catch(() => {});
    const request = await this.#api.transfer(session.id, target);
    if (this.#session?.id !== session.id) return;
    const moved = { ...session, ...request };
    if (target.warm && moved.agent_id === this.userId && ['waiting', 'offered'].includes(moved.status)) {
      this.#session = moved;
      live.transferring = true;
      return;
    }
    this.#leave(moved, 'transferred');
  }

  /**
   * This agent is out of a session that goes on with someone else (the
   * server has taken them out of its call).
   * @param {DeskRequest} request
   * @param {'transferred' | 'left'} reason
   */
  #leave(request, reason) {
    const live = this.#live;
    this.#live = null;
    this.#session = null;
    this.#handedOn = { request, reason };
    this.render();
    // The server took this agent out of the call, not this device out of
    // its room: leave the room first, and only then close the connections
    // here, so the server stops sending to this device before its
    // transport goes away under the tracks the customer goes on sending.
    const media = live?.media;
    const left = media && !media.closed
      ? this.#socket.request({ type: 'rtc', call_id: media.callId, action: 'leave' }).catch(() => undefined)
      : Promise.resolve(undefined);
    void left.then(() => live?.close(false));
    /** @type {HTMLElement | null} */ (this.element.querySelector('#handed-on-title'))?.focus();
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
