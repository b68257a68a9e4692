// One help-desk session on the agent's screen (desk/console-view.js holds
// the console around it): for a video or voice call, the customer's shared
// screen large with the drawing tools and the agent's own camera small;
// for a chat, the chat; for a booked callback, the customer's contact.
// Each has private notes, Transfer and End.


import { el, replaceChildren } from '../components/dom.js';
import { describeError } from '../components/form-controller.js';
import { VideoTile } from '../components/video-tile.js';
import { CallMedia } from '../calls/call-media.js';
import { AnnotationLayer } from '../calls/annotation-layer.js';
import { ApiError } from '../api.js';
import { DeskApi } from './desk-api.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../i18n.js').MessageKey} MessageKey */
/** @typedef {import('./desk-api.js').DeskAgent} DeskAgent */
/** @typedef {import('./desk-api.js').DeskRequest} DeskRequest */

/** The pen's colours. */
const colours = ['#ff3b30', '#ffcc00', '#34c759', '#0a84ff', '#ffffff'];

/**
 * @typedef {'video' | 'voice' | 'chat' | 'callback'} SessionKind
 */

/**
 * @param {DeskRequest} request
 * @returns {SessionKind}
 */
export function sessionKind(request) {
  if (request.callback_contact) return 'callback';
  if (request.channel === 'voice') return 'voice';
  if (request.channel === 'video') return 'video';
  return 'chat';
}

/**
 * One session on screen: for a call, the customer's screen with the
 * drawing tools and the agent's camera (video only); for a callback, the
 * customer's contact; the chat (not for a callback), notes, Transfer, End.
 */
export class Session {
  /** @type {HTMLElement} */
  element;
  /** @type {DeskRequest} */
  request;
  /** @type {CallMedia | null} */
  media;
  /** @type {SessionKind} */
  kind;
  #i18n;
  #api;
  #ctx;
  #manager;
  #transferTo;
  #screen = new VideoTile();
  #self = new VideoTile();
  /** @type {AnnotationLayer | null} */
  #layer = null;
  #log = el('ol', { class: 'desk-chat-log', 'aria-live': 'polite' });
  #audio = el('div', { hidden: true });
  #notes = el('textarea', { id: 'desk-notes', rows: 5, maxlength: 10000 });
  #waiting;
  #tools;
  #endButton;
  #transferButton;
  #transferBox = el('div', { class: 'desk-transfer', id: 'desk-transfer', hidden: true });
  #transferStatus = el('p', { class: 'desk-transferring', role: 'status', hidden: true });
  #transferring = false;
  /** @type {Set<string>} */
  #seen = new Set();
  /** @type {(() => void)[]} */
  #cleanup = [];

  /**
   * @param {{ i18n: I18n, request: DeskRequest, kind: SessionKind, media: CallMedia | null, api: DeskApi, ctx: ViewContext,
   *   manager: boolean, end: () => void, transfer: (target: { queue?: string, agent?: string, warm: boolean }) => Promise<void>,
   *   error: (error: unknown) => void }} options
   */
  constructor({ i18n, request, kind, media, api, ctx, manager, end, transfer, error }) {
    this.#i18n = i18n;
    this.#api = api;
    this.#ctx = ctx;
    this.#manager = manager;
    this.#transferTo = transfer;
    this.request = request;
    this.media = media;
    this.kind = kind;
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
    this.#endButton = el('button', { type: 'button', class: 'button-danger' }, t('desk.end'));
    this.#endButton.addEventListener('click', end);
    this.#transferButton = el('button', { type: 'button', class: 'button-secondary', 'aria-expanded': 'false', 'aria-controls': 'desk-transfer' },
      t('desk.transfer'));
    this.#transferButton.addEventListener('click', () => this.#toggleTransfer());

    const identity = request.identity === 'verified' ? el('span', { class: 'desk-badge is-verified' }, t('desk.verified'))
      : request.identity === 'forged' ? el('span', { class: 'desk-badge is-forged' }, t('desk.forged')) : null;
    const kindBadge = el('span', { class: `desk-badge is-${kind}` }, t(/** @type {MessageKey} */ (`desk.kind.${kind}`)));
    const head = el('div', { class: 'desk-session-head' },
      el('h2', { id: 'desk-session-title' }, t('desk.sessionWith', { name: request.name || t('desk.guest') })), identity, kindBadge,
      el('span', { class: 'muted' }, [request.queue_name, request.location, request.device].filter(Boolean).join(' · ')));
    /** @type {(Node | null)[]} */
    let stage;
    if (kind === 'callback') {
      stage = [head, this.#callbackCard(request)];
    } else if (kind === 'chat') {
      stage = [head, el('p', { class: 'muted desk-chat-only' }, t('desk.chatOnly')), el('h3', {}, t('desk.chat')), this.#log, chat];
    } else {
      stage = [head, kind === 'voice' ? el('p', { class: 'muted desk-voice' }, t('desk.voiceOnly')) : null,
        this.#tools, this.#waiting, this.#screen.element,
        kind === 'video' ? el('div', { class: 'desk-self' }, this.#self.element) : null];
    }
    const sideChat = kind === 'video' || kind === 'voice' ? [el('h3', {}, t('desk.chat')), this.#log, chat] : [];
    this.element = el('section', { class: `desk-session is-${kind}`, 'aria-labelledby': 'desk-session-title', 'data-kind': kind },
      el('div', { class: 'desk-stage' }, ...stage),
      el('aside', { class: 'desk-side' },
        ...sideChat,
        el('label', { for: 'desk-notes' }, t('desk.privateNotes')), this.#notes, saveNotes,
        this.#transferStatus,
        el('div', { class: 'desk-actions' }, this.#transferButton, this.#endButton),
        this.#transferBox),
      this.#audio);
    if (media) {
      this.#cleanup.push(media.on('tracks', () => this.#showTracks()), media.on('local', () => this.#showSelf()));
      this.#showTracks();
    }
    if (kind !== 'callback') void this.#loadMessages();
  }

  get notes() {
    return this.#notes.value;
  }

  /** A warm transfer going on: this agent stays until the next accepts. */
  get transferring() {
    return this.#transferring;
  }

  set transferring(on) {
    this.#transferring = on;
    this.#transferStatus.hidden = !on;
    this.#transferStatus.textContent = on ? this.#i18n.t('desk.transferring') : '';
    this.#endButton.disabled = on;
    this.#transferButton.disabled = on;
    if (on) this.#closeTransfer(false);
  }

  /** @param {DeskRequest} request */
  update(request) {
    this.request = request;
    if (this.#transferring && request.status === 'active' && request.agent_id === this.#ctx.user?.id) this.transferring = false;
  }

  /** @param {DeskRequest} request */
  #callbackCard(request) {
    const t = this.#i18n.t.bind(this.#i18n);
    const contact = request.callback_contact ?? '';
    const href = contactHref(contact);
    return el('div', { class: 'card desk-callback' },
      el('p', { class: 'desk-callback-hint' }, el('strong', {}, t('desk.callbackHint', { contact }))),
      el('dl', { class: 'desk-facts' },
        el('dt', {}, t('desk.contact')), el('dd', {}, href ? el('a', { href }, contact) : contact),
        request.callback_at ? el('dt', {}, t('desk.callbackWhen')) : null,
        request.callback_at ? el('dd', {}, this.#i18n.formatDateTime(request.callback_at)) : null),
      el('p', { class: 'muted' }, t('desk.callbackExplain')));
  }

  // Transfer.

  #toggleTransfer() {
    if (this.#transferBox.hidden) void this.#openTransfer();
    else this.#closeTransfer(true);
  }

  /** @param {boolean} focus give the focus back to the Transfer button */
  #closeTransfer(focus) {
    this.#transferBox.hidden = true;
    replaceChildren(this.#transferBox);
    this.#transferButton.setAttribute('aria-expanded', 'false');
    if (focus) this.#transferButton.focus();
  }

  async #openTransfer() {
    const t = this.#i18n.t.bind(this.#i18n);
    this.#transferBox.hidden = false;
    this.#transferButton.setAttribute('aria-expanded', 'true');
    replaceChildren(this.#transferBox, el('p', { class: 'muted' }, t('app.loading')));
    const me = this.#ctx.user?.id;
    /** @type {import('./desk-api.js').DeskQueue[]} */
    let queues = [];
    /** @type {DeskAgent[]} */
    let agents = [];
    try {
      queues = (await this.#api.queues()).items;
    } catch {
      queues = [];
    }
    // Only managers may list the agents; everyone else transfers to a queue.
    if (this.#manager) {
      try {
        agents = (await this.#api.agents()).items.filter((a) => a.user_id !== me && a.status !== 'offline');
      } catch {
        agents = [];
      }
    }
    if (this.#transferBox.hidden) return;
    const queueSelect = el('select', { id: 'transfer-queue' },
      ...queues.map((q) => el('option', { value: q.id, selected: q.id === this.request.queue_id }, q.name)));
    const agentSelect = el('select', { id: 'transfer-agent', disabled: true },
      ...agents.map((a) => el('option', { value: a.user_id }, `${a.name} (${this.#statusName(a.status)})`)));
    const toQueue = el('input', { type: 'radio', name: 'transfer-to', id: 'transfer-to-queue', value: 'queue', checked: true });
    const toAgent = el('input', { type: 'radio', name: 'transfer-to', id: 'transfer-to-agent', value: 'agent', disabled: agents.length === 0 });
    const pick = () => {
      queueSelect.disabled = !toQueue.checked;
      agentSelect.disabled = !toAgent.checked;
    };
    toQueue.addEventListener('change', pick);
    toAgent.addEventListener('change', pick);
    const cold = el('input', { type: 'radio', name: 'transfer-mode', id: 'transfer-cold', value: 'cold', checked: true });
    const warm = el('input', { type: 'radio', name: 'transfer-mode', id: 'transfer-warm', value: 'warm' });
    const problem = el('p', { class: 'desk-transfer-error', role: 'alert' });
    const submit = el('button', { type: 'submit', class: 'button-primary' }, t('desk.transferNow'));
    const cancel = el('button', { type: 'button', class: 'button-secondary' }, t('desk.cancel'));
    cancel.addEventListener('click', () => this.#closeTransfer(true));
    const form = el('form', { class: 'desk-transfer-form', 'aria-labelledby': 'transfer-title' },
      el('h3', { id: 'transfer-title' }, t('desk.transferTitle')),
      el('fieldset', {}, el('legend', {}, t('desk.transferTo')),
        el('div', { class: 'desk-choice' }, toQueue, el('label', { for: 'transfer-to-queue' }, t('desk.transferToQueue'))),
        el('label', { for: 'transfer-queue', class: 'visually-hidden' }, t('desk.queue')), queueSelect,
        el('div', { class: 'desk-choice' }, toAgent, el('label', { for: 'transfer-to-agent' }, t('desk.transferToAgent'))),
        el('label', { for: 'transfer-agent', class: 'visually-hidden' }, t('desk.agent')), agentSelect,
        this.#manager ? null : el('p', { class: 'muted' }, t('desk.transferQueueOnly'))),
      el('fieldset', {}, el('legend', {}, t('desk.transferHow')),
        el('div', { class: 'desk-choice' }, cold, el('label', { for: 'transfer-cold' }, t('desk.transferCold'))),
        el('div', { class: 'desk-choice' }, warm, el('label', { for: 'transfer-warm' }, t('desk.transferWarm')))),
      problem,
      el('div', { class: 'desk-actions' }, submit, cancel));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      problem.textContent = '';
      const target = toAgent.checked ? { agent: agentSelect.value, warm: warm.checked } : { queue: queueSelect.value, warm: warm.checked };
      if (!target.agent && !target.queue) return;
      submit.disabled = true;
      try {
        await this.#transferTo(target);
      } catch (error) {
        problem.textContent = this.#transferProblem(error);
        submit.disabled = false;
      }
    });
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.#closeTransfer(true);
      }
    });
    replaceChildren(this.#transferBox, form);
    (agents.length > 0 ? toQueue : queueSelect).focus();
  }

  /** @param {unknown} error */
  #transferProblem(error) {
    if (error instanceof ApiError) {
      const slug = String(error.problem?.type ?? '').split(':').pop();
      if (slug === 'agent-unavailable') return this.#i18n.t('desk.agentUnavailable');
      if (slug === 'wrong-state') return this.#i18n.t('desk.transferWrongState');
    }
    return describeError(error, this.#i18n);
  }

  /** @param {string} status */
  #statusName(status) {
    const key = `desk.status.${status}`;
    return this.#i18n.has(key) ? this.#i18n.t(key) : status;
  }

  // Media.

  #showSelf() {
    if (!this.media || this.kind !== 'video') return;
    const camera = this.media.local.get('camera') ?? null;
    this.#self.update({ id: this.#ctx.user?.id ?? 'me', name: this.#i18n.t('desk.you'), source: 'camera', video: camera, self: true });
  }

  #showTracks() {
    const media = this.media;
    if (!media) return;
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
    if (this.kind === 'callback' || this.#seen.has(message.id) || message.deleted || !message.body) return;
    this.#seen.add(message.id);
    const mine = message.sender_id === this.#ctx.user?.id;
    const customer = message.sender_id === this.request.customer_id;
    const who = mine ? this.#i18n.t('desk.you') : customer ? this.request.name || this.#i18n.t('desk.guest') : this.#i18n.t('desk.otherAgent');
    const item = el('li', { class: mine ? 'mine' : 'theirs', 'data-seq': message.seq },
      el('span', { class: 'who' }, who),
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
    if (leave) void this.media?.leave();
    else this.media?.close();
    this.element.remove();
  }
}

/**
 * A link for a callback's contact: mailto: for an address, tel: for a
 * number (only its digits and +), none for anything else.
 * @param {string} contact
 */
function contactHref(contact) {
  const value = contact.trim();
  if (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value)) return `mailto:${encodeURIComponent(value).replace('%40', '@')}`;
  const digits = value.replace(/[\s().-]/g, '');
  if (/^\+?[0-9]{5,20}$/.test(digits)) return `tel:${digits}`;
  return '';
}

function clientId() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Browser tests read the agent's media through window.__parleyDesk, only
 * when they asked (localStorage "parley.debug" = "calls").
 * @param {CallMedia} media
 */
export function exposeForTests(media) {
  let wanted = false;
  try {
    wanted = localStorage.getItem('parley.debug') === 'calls';
  } catch {
    wanted = false;
  }
  if (wanted) /** @type {any} */ (window).__parleyDesk = media;
}
