// The call on screen: a full-window layer over the app (which is inert
// meanwhile) with a grid of tiles — each person's camera, or their
// initials in a voice call — and a shared screen large above it, with the
// drawings over it; the controls ("Mute", "Camera", "Share screen",
// "Pause sharing", devices, "End call"), the network quality and, where
// this device may draw on a shared screen, the drawing tools.

import { el, uniqueId } from '../components/dom.js';
import { icon } from '../components/icon.js';
import { Notice } from '../components/notice.js';
import { VideoTile } from '../components/video-tile.js';
import { AnnotationLayer } from './annotation-layer.js';

/** @typedef {import('../api.js').Call} Call */
/** @typedef {import('../messenger/session.js').MessengerSession} MessengerSession */
/** @typedef {import('./call-media.js').CallMedia} CallMedia */
/** @typedef {import('./call-media.js').TrackInfo} TrackInfo */
/** @typedef {import('../components/video-tile.js').TileState} TileState */
/** @typedef {import('../components/icon.js').IconName} IconName */

/**
 * @typedef {Object} TilePlan
 * @property {string} key
 * @property {TileState} state
 * @property {boolean} focus shown large (a shared screen)
 * @property {{ target: string, drawable: boolean } | null} layer drawings over it
 */

/** The pen's colours: each at 3:1 or more against both white and black pictures' edges is not possible, so they are bright and outlined by the picture. */
const colours = /** @type {const} */ ([
  ['red', '#ff3b30'],
  ['yellow', '#ffcc00'],
  ['green', '#34c759'],
  ['blue', '#0a84ff'],
]);

export class CallView {
  /** @type {HTMLElement} */
  element;
  /** @type {MessengerSession} */
  #session;
  /** @type {Call} */
  #call;
  /** @type {CallMedia} */
  #media;
  /** @type {() => void} */
  #hangUp;
  #titleId = uniqueId('call-title');
  /** @type {HTMLHeadingElement} */
  #title;
  /** @type {HTMLElement} */
  #status = el('p', { class: 'call-status', 'aria-live': 'polite' });
  /** @type {HTMLElement} */
  #quality = el('p', { class: 'call-quality' });
  /** @type {HTMLElement} */
  #focusArea = el('div', { class: 'call-focus' });
  /** @type {HTMLElement} */
  #grid = el('div', { class: 'call-grid' });
  /** @type {HTMLElement} */
  #hint = el('p', { class: 'call-hint' });
  /** @type {HTMLElement} */
  #audio = el('div', { class: 'call-audio', hidden: true });
  /** @type {Notice} */
  #errors = Notice.create('error');
  /** @type {HTMLElement} */
  #tools;
  /** @type {Map<string, VideoTile>} */
  #tiles = new Map();
  /** @type {Map<string, AnnotationLayer>} tile key → its drawings */
  #layers = new Map();
  /** @type {Map<string, HTMLAudioElement>} */
  #sounds = new Map();
  /** @type {Record<string, HTMLButtonElement>} */
  #buttons;
  /** @type {HTMLSelectElement} */
  #micSelect;
  /** @type {HTMLSelectElement} */
  #cameraSelect;
  /** @type {(() => void)[]} */
  #cleanup = [];
  /** @type {Element[]} what was made inert while the call is on screen */
  #inerted = [];
  /** @type {HTMLElement | null} */
  #returnFocus = null;
  #queued = false;
  /** @type {number | undefined} */
  #clock;
  #tool = /** @type {'pen' | 'pointer'} */ ('pen');
  /** @type {string} */
  #colour = colours[0][1];
  #busy = false;

  /**
   * @param {{ session: MessengerSession, call: Call, media: CallMedia, hangUp: () => void }} options
   */
  constructor({ session, call, media, hangUp }) {
    this.#session = session;
    this.#call = call;
    this.#media = media;
    this.#hangUp = hangUp;
    const { i18n } = session;

    this.#title = el('h2', { id: this.#titleId, class: 'call-title', tabindex: -1 });
    const button = (/** @type {string} */ name, /** @type {IconName} */ glyph, /** @type {string} */ label, toggle = true, extra = '') => el('button', {
      type: 'button', class: `call-control ${extra}`.trim(), 'data-control': name, 'aria-pressed': toggle ? 'false' : undefined,
    }, icon(glyph), el('span', { class: 'control-label' }, label));
    this.#buttons = {
      mute: button('mute', 'mic', i18n.t('call.mute')),
      camera: button('camera', 'video', i18n.t('call.camera')),
      share: button('share', 'screen', i18n.t('call.shareScreen')),
      pause: button('pause', 'pause', i18n.t('call.pauseSharing')),
      end: button('end', 'hangup', i18n.t('call.end'), false, 'call-end'),
    };
    this.#buttons.mute.addEventListener('click', () => void this.#act(() => this.#media.setMuted(!this.#media.muted)));
    this.#buttons.camera.addEventListener('click', () => void this.#act(() => this.#media.setCamera(!this.#media.local.has('camera'))));
    this.#buttons.share.addEventListener('click', () => void this.#act(async () => {
      try {
        await this.#media.setScreen(!this.#media.local.has('screen'));
      } catch (error) {
        // Cancelling the browser's picker is a choice, not a failure.
        if (!(error instanceof DOMException && error.name === 'NotAllowedError')) throw new Error(i18n.t('call.shareFailed'));
      }
    }));
    this.#buttons.pause.addEventListener('click', () => void this.#act(() => this.#media.pauseScreen(!this.#media.paused.has('screen'))));
    this.#buttons.end.addEventListener('click', () => this.#hangUp());

    this.#micSelect = el('select', { id: uniqueId('mic') });
    this.#cameraSelect = el('select', { id: uniqueId('cam') });
    this.#micSelect.addEventListener('change', () => void this.#act(() => this.#media.useDevice('microphone', this.#micSelect.value)));
    this.#cameraSelect.addEventListener('change', () => void this.#act(() => this.#media.useDevice('camera', this.#cameraSelect.value)));
    const devices = this.#devicesMenu();

    this.#tools = this.#drawingTools();
    this.element = el('section', { class: 'call-screen', 'aria-labelledby': this.#titleId, 'data-call': call.id },
      el('header', { class: 'call-top' },
        el('div', { class: 'call-heading' }, this.#title, this.#status),
        this.#quality),
      this.#errors,
      el('div', { class: 'call-stage' }, this.#focusArea, this.#hint, this.#grid),
      this.#tools,
      el('div', { class: 'call-controls', role: 'group', 'aria-label': i18n.t('call.controls') },
        this.#buttons.mute, this.#buttons.camera, this.#buttons.share, this.#buttons.pause, devices, this.#buttons.end),
      this.#audio);

    for (const topic of /** @type {const} */ (['tracks', 'local', 'speakers', 'quality', 'state'])) {
      this.#cleanup.push(media.on(topic, () => this.#schedule()));
    }
    this.#cleanup.push(session.store.on('thread', () => this.#schedule()));
    this.#clock = window.setInterval(() => this.#drawStatus(), 1000);
    this.#render();
  }

  /** Puts the call over the app and the focus on its heading. */
  open() {
    this.#returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    for (const child of document.body.children) {
      if (child instanceof HTMLElement && !child.inert && child.tagName !== 'DIALOG') {
        child.inert = true;
        this.#inerted.push(child);
      }
    }
    document.body.append(this.element);
    document.body.classList.add('in-call');
    this.focus();
  }

  focus() {
    this.#title.focus();
  }

  /** @param {Call} call the latest state of the call */
  update(call) {
    this.#call = call;
    this.#schedule();
  }

  /** @param {string} reason */
  failed(reason) {
    this.#errors.show(this.#session.i18n.t('call.failed', { reason }));
  }

  close() {
    for (const cleanup of this.#cleanup) cleanup();
    window.clearInterval(this.#clock);
    for (const layer of this.#layers.values()) layer.destroy();
    for (const tile of this.#tiles.values()) tile.destroy();
    for (const sound of this.#sounds.values()) sound.srcObject = null;
    this.element.remove();
    document.body.classList.remove('in-call');
    for (const element of this.#inerted) if (element instanceof HTMLElement) element.inert = false;
    this.#inerted = [];
    const back = this.#returnFocus;
    if (back?.isConnected) back.focus();
    else document.getElementById('main')?.focus();
  }

  /**
   * Runs an action of the controls one at a time, showing what failed.
   * @param {() => Promise<unknown>} action
   */
  async #act(action) {
    if (this.#busy) return;
    this.#busy = true;
    this.#errors.clear();
    try {
      await action();
    } catch (error) {
      this.#errors.show(error instanceof Error ? error.message : String(error));
    } finally {
      this.#busy = false;
      this.#schedule();
    }
  }

  #schedule() {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.#render();
    });
  }

  // Who is who.

  /** @param {string} userId */
  #nameOf(userId) {
    const { store, i18n, user } = this.#session;
    if (userId === user.id) return i18n.t('call.you');
    const conversation = store.conversation(this.#call.conversation_id);
    return store.nameOf(userId)
      ?? (conversation?.peer?.id === userId ? conversation.peer.name : undefined)
      ?? i18n.t('message.someone');
  }

  #myRole() {
    return this.#call.members.find((member) => member.user_id === this.#session.user.id)?.role;
  }

  /** The other person, or the conversation, for the title and the hints. */
  #otherName() {
    const { store, user } = this.#session;
    const conversation = store.conversation(this.#call.conversation_id);
    if (conversation?.kind === 'group') return conversation.title;
    const other = this.#call.members.find((member) => member.user_id !== user.id);
    return other ? this.#nameOf(other.user_id) : this.#session.i18n.t('message.someone');
  }

  // Drawing.

  #render() {
    const { i18n } = this.#session;
    const media = this.#media;
    const other = this.#otherName();
    this.#title.textContent = i18n.t(this.#call.one_way ? 'call.helpTitle' : 'call.title', { name: other });
    this.element.dataset.kind = this.#call.one_way ? 'help' : this.#call.kind;
    const role = this.#myRole();
    if (role) this.element.dataset.role = role;
    this.#drawStatus();
    this.#quality.dataset.quality = media.quality;
    this.#quality.replaceChildren(el('span', { class: 'quality-bars', 'aria-hidden': 'true' }, el('span'), el('span'), el('span')),
      i18n.t(/** @type {const} */ (`call.quality.${media.quality}`)));

    const plans = this.#plan();
    const focus = plans.filter((plan) => plan.focus);
    const grid = plans.filter((plan) => !plan.focus);
    /** @type {Set<string>} */
    const keep = new Set();
    for (const plan of plans) {
      keep.add(plan.key);
      let tile = this.#tiles.get(plan.key);
      if (!tile) {
        tile = new VideoTile();
        tile.element.dataset.key = plan.key;
        this.#tiles.set(plan.key, tile);
      }
      tile.update(plan.state);
      const parent = plan.focus ? this.#focusArea : this.#grid;
      if (tile.element.parentElement !== parent) parent.append(tile.element);
      const layer = this.#layers.get(plan.key);
      if (plan.layer && (!layer || layer.target !== plan.layer.target || layer.drawable !== plan.layer.drawable)) {
        layer?.destroy();
        const made = new AnnotationLayer({ media, tile, target: plan.layer.target, drawable: plan.layer.drawable, label: i18n.t('call.drawings') });
        made.tool = this.#tool;
        made.color = this.#colour;
        this.#layers.set(plan.key, made);
      } else if (!plan.layer && layer) {
        layer.destroy();
        this.#layers.delete(plan.key);
      }
    }
    for (const [key, tile] of this.#tiles) {
      if (keep.has(key)) continue;
      this.#layers.get(key)?.destroy();
      this.#layers.delete(key);
      tile.destroy();
      this.#tiles.delete(key);
    }
    // Keep the grid in plan order, moving only what is out of place.
    grid.forEach((plan, index) => {
      const element = /** @type {VideoTile} */ (this.#tiles.get(plan.key)).element;
      if (this.#grid.children[index] !== element) this.#grid.insertBefore(element, this.#grid.children[index] ?? null);
    });
    this.#focusArea.hidden = focus.length === 0;
    this.#grid.dataset.count = String(Math.min(grid.length, 9));
    this.element.dataset.layout = focus.length > 0 ? 'focus' : 'grid';

    // Hints for a help call before the screen is shared.
    let hint = '';
    if (this.#call.one_way && focus.length === 0) {
      hint = role === 'customer' ? i18n.t('call.shareHint', { name: other }) : i18n.t('call.waitingScreen', { name: other });
    }
    this.#hint.textContent = hint;
    this.#hint.hidden = hint === '';

    this.#drawSounds();
    this.#drawControls();
    const drawable = [...this.#layers.values()].some((layer) => layer.drawable);
    this.#tools.hidden = !drawable;
  }

  /** @returns {TilePlan[]} */
  #plan() {
    const { i18n, user } = this.#session;
    const media = this.#media;
    const labels = { pausedLabel: i18n.t('call.paused'), speakingLabel: i18n.t('call.speaking'), mutedLabel: i18n.t('call.muted') };
    /** @type {TilePlan[]} */
    const plans = [];
    const loud = (/** @type {string} */ pid) => (media.speakers.get(pid) ?? 0) > 0;

    // This device.
    const myScreen = media.local.get('screen');
    if (myScreen) {
      plans.push({
        key: 'self:screen',
        focus: Boolean(this.#call.one_way),
        state: { id: user.id, name: i18n.t('call.yourScreen'), video: myScreen, source: 'screen', self: true, paused: media.paused.has('screen'), ...labels },
        layer: media.participantId ? { target: media.participantId, drawable: false } : null,
      });
    }
    plans.push({
      key: 'self:camera',
      focus: false,
      state: {
        id: user.id, name: i18n.t('call.you'), avatarName: user.name, video: media.local.get('camera') ?? null, source: 'camera', self: true,
        muted: media.muted || !media.local.has('microphone'), speaking: loud(media.participantId) && !media.muted, ...labels,
      },
      layer: null,
    });

    // Everyone else, by participant (a person may be here from two devices).
    /** @type {Map<string, TrackInfo[]>} */
    const byParticipant = new Map();
    for (const info of media.tracks.values()) {
      if (info.participant_id === media.participantId) continue;
      const list = byParticipant.get(info.participant_id) ?? [];
      list.push(info);
      byParticipant.set(info.participant_id, list);
    }
    /** @type {Set<string>} */
    const seen = new Set([user.id]);
    for (const [pid, infos] of byParticipant) {
      const userId = pid.split('~')[0];
      seen.add(userId);
      const name = this.#nameOf(userId);
      const camera = infos.find((info) => info.source === 'camera');
      const mic = infos.find((info) => info.source === 'microphone');
      const screen = infos.find((info) => info.source === 'screen');
      if (screen) {
        plans.push({
          key: `${pid}:screen`,
          focus: true,
          state: { id: userId, name: i18n.t('call.screenOf', { name }), video: media.remote.get(screen.id) ?? null, source: 'screen', paused: screen.paused, ...labels },
          layer: { target: pid, drawable: media.permissions.annotate },
        });
      }
      plans.push({
        key: `${pid}:camera`,
        focus: false,
        state: {
          id: userId, name, source: 'camera',
          video: camera && !camera.paused ? media.remote.get(camera.id) ?? null : null,
          muted: !mic || mic.paused, speaking: loud(pid), ...labels,
        },
        layer: null,
      });
    }
    // People in the call who send nothing (yet).
    for (const member of this.#call.members) {
      if (member.state !== 'joined' || seen.has(member.user_id)) continue;
      plans.push({
        key: `user:${member.user_id}`,
        focus: false,
        state: { id: member.user_id, name: this.#nameOf(member.user_id), video: null, source: 'camera', muted: true, ...labels },
        layer: null,
      });
    }
    return plans;
  }

  /** Plays everyone's sound (each in its own element, so one failing does not silence the rest). */
  #drawSounds() {
    const media = this.#media;
    /** @type {Set<string>} */
    const keep = new Set();
    for (const info of media.tracks.values()) {
      if (info.kind !== 'audio' || info.participant_id === media.participantId) continue;
      const track = media.remote.get(info.id);
      if (!track) continue;
      keep.add(info.id);
      let sound = this.#sounds.get(info.id);
      if (!sound) {
        sound = el('audio', { autoplay: true });
        this.#sounds.set(info.id, sound);
        this.#audio.append(sound);
      }
      if (!(sound.srcObject instanceof MediaStream) || sound.srcObject.getTracks()[0] !== track) {
        sound.srcObject = new MediaStream([track]);
        sound.play().catch(() => {});
      }
    }
    for (const [id, sound] of this.#sounds) {
      if (keep.has(id)) continue;
      sound.srcObject = null;
      sound.remove();
      this.#sounds.delete(id);
    }
  }

  #drawControls() {
    const media = this.#media;
    const buttons = this.#buttons;
    const connected = media.participantId !== '';
    buttons.mute.setAttribute('aria-pressed', String(media.muted));
    buttons.mute.hidden = connected && !media.may('microphone');
    buttons.camera.hidden = !media.may('camera');
    buttons.camera.setAttribute('aria-pressed', String(media.local.has('camera')));
    const canShare = media.may('screen') && typeof navigator.mediaDevices?.getDisplayMedia === 'function';
    buttons.share.hidden = !canShare;
    const sharing = media.local.has('screen');
    buttons.share.setAttribute('aria-pressed', String(sharing));
    buttons.pause.hidden = !sharing;
    buttons.pause.setAttribute('aria-pressed', String(media.paused.has('screen')));
  }

  #drawStatus() {
    const { i18n } = this.#session;
    const call = this.#call;
    /** @type {string} */
    let text;
    if (call.state === 'ended') text = i18n.t('call.ended');
    else if (this.#media.state === 'reconnecting') text = i18n.t('call.reconnecting');
    else if (call.state === 'ringing') text = i18n.t('call.calling');
    else if (this.#media.state === 'connecting') text = i18n.t('call.connecting');
    else {
      const since = Date.parse(call.answered_at ?? call.created_at);
      const seconds = Math.max(0, Math.floor((Date.now() - since) / 1000));
      const time = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
      text = i18n.t('call.inCall', { time });
    }
    // The clock ticks visibly; screen readers hear only changes of state.
    const state = `${call.state}/${this.#media.state}`;
    if (this.#status.dataset.state !== state) {
      this.#status.dataset.state = state;
      this.#status.setAttribute('aria-live', 'polite');
    } else {
      this.#status.setAttribute('aria-live', 'off');
    }
    if (this.#status.textContent !== text) this.#status.textContent = text;
  }

  // Devices.

  #devicesMenu() {
    const { i18n } = this.#session;
    const panelId = uniqueId('devices');
    const panel = el('div', { id: panelId, class: 'popover-panel devices-panel', popover: 'auto', role: 'group', 'aria-label': i18n.t('call.devices') },
      el('div', { class: 'field' }, el('label', { for: this.#micSelect.id }, i18n.t('call.microphone')), this.#micSelect),
      el('div', { class: 'field' }, el('label', { for: this.#cameraSelect.id }, i18n.t('call.cameraDevice')), this.#cameraSelect));
    const button = el('button', { type: 'button', class: 'call-control', popovertarget: panelId, 'data-control': 'devices' },
      icon('sliders'), el('span', { class: 'control-label' }, i18n.t('call.devices')));
    panel.addEventListener('toggle', (event) => {
      if (!(event instanceof ToggleEvent) || event.newState !== 'open') return;
      const anchor = button.getBoundingClientRect();
      panel.style.left = `${Math.max(8, Math.min(anchor.left, document.documentElement.clientWidth - 300))}px`;
      panel.style.top = 'auto';
      panel.style.bottom = `${Math.max(8, document.documentElement.clientHeight - anchor.top + 8)}px`;
      void this.#listDevices().then(() => {
        const first = panel.querySelector('select:not([disabled])');
        if (first instanceof HTMLElement) first.focus();
      });
    });
    return el('span', { class: 'popover-menu' }, button, panel);
  }

  async #listDevices() {
    const media = this.#media;
    /** @type {MediaDeviceInfo[]} */
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      devices = [];
    }
    /**
     * @param {HTMLSelectElement} select
     * @param {MediaDeviceKind} kind
     * @param {'microphone' | 'camera'} source
     */
    const fill = (select, kind, source) => {
      const list = devices.filter((device) => device.kind === kind && device.deviceId !== '');
      const current = media.deviceOf(source);
      select.replaceChildren(...list.map((device, index) =>
        el('option', { value: device.deviceId, selected: device.deviceId === current }, device.label || `${kind} ${index + 1}`)));
      select.disabled = list.length === 0 || !media.local.has(source);
    };
    fill(this.#micSelect, 'audioinput', 'microphone');
    fill(this.#cameraSelect, 'videoinput', 'camera');
    this.#cameraSelect.closest('.field')?.toggleAttribute('hidden', !media.may('camera'));
  }

  #drawingTools() {
    const { i18n } = this.#session;
    /** @type {HTMLButtonElement[]} */
    const toolButtons = [];
    /** @type {HTMLButtonElement[]} */
    const colourButtons = [];
    const sync = () => {
      for (const button of toolButtons) button.setAttribute('aria-pressed', String(button.dataset.tool === this.#tool));
      for (const button of colourButtons) button.setAttribute('aria-pressed', String(button.dataset.colour === this.#colour));
      for (const layer of this.#layers.values()) {
        layer.tool = this.#tool;
        layer.color = this.#colour;
      }
    };
    for (const [tool, glyph, label] of /** @type {const} */ ([['pen', 'edit', 'call.pen'], ['pointer', 'pointer', 'call.pointer']])) {
      const button = el('button', { type: 'button', class: 'tool-button', 'data-tool': tool, 'aria-pressed': 'false' },
        icon(glyph), el('span', {}, i18n.t(label)));
      button.addEventListener('click', () => {
        this.#tool = tool;
        sync();
      });
      toolButtons.push(button);
    }
    for (const [name, value] of colours) {
      const button = el('button', { type: 'button', class: `swatch swatch-${name}`, 'data-colour': value, 'aria-pressed': 'false',
        'aria-label': i18n.t(/** @type {const} */ (`call.colour.${name}`)), title: i18n.t(/** @type {const} */ (`call.colour.${name}`)) });
      button.addEventListener('click', () => {
        this.#colour = value;
        sync();
      });
      colourButtons.push(button);
    }
    const undo = el('button', { type: 'button', class: 'tool-button' }, icon('undo'), el('span', {}, i18n.t('call.undo')));
    undo.addEventListener('click', () => this.#drawableLayer()?.undo());
    const clear = el('button', { type: 'button', class: 'tool-button' }, icon('trash'), el('span', {}, i18n.t('call.clear')));
    clear.addEventListener('click', () => this.#drawableLayer()?.clear());
    const tools = el('div', { class: 'call-tools', role: 'group', 'aria-label': i18n.t('call.tools'), hidden: true },
      ...toolButtons,
      el('div', { class: 'swatches', role: 'group', 'aria-label': i18n.t('call.colour') }, ...colourButtons),
      undo, clear);
    sync();
    return tools;
  }

  #drawableLayer() {
    return [...this.#layers.values()].find((layer) => layer.drawable) ?? null;
  }
}
