// Calls for the signed-in person: it rings for incoming calls on every
// device (a `call.started` event; it stops when a `call` frame says the
// call was answered elsewhere, declined, ended or missed), starts calls
// from a conversation (joining the one already going on there), and holds
// the one call this tab is in, with its media and its screen.

import { ApiError } from '../api.js';
import { ringingDialog } from './ringing-dialog.js';
import { CallMedia } from './call-media.js';
import { CallView } from './call-view.js';
import { Ringtone } from './ringtone.js';

/** @typedef {import('../api.js').Call} Call */
/** @typedef {import('../api.js').ConversationEvent} ConversationEvent */
/** @typedef {import('../messenger/session.js').MessengerSession} MessengerSession */

/**
 * What the calls need of the messenger session.
 * @typedef {Object} CallHost
 * @property {MessengerSession} session
 * @property {(frame: Record<string, unknown>) => Promise<Record<string, any>>} rtcRequest
 * @property {(frame: Record<string, unknown>) => boolean} rtcSend
 */

/** A device stops ringing on its own after this, whatever the server said. */
const ringLimitMs = 60_000;

export class CallManager {
  /** @type {CallHost} */
  #host;
  /** @type {Map<string, { close: () => void, timer: number }>} call id → its ringing */
  #ringing = new Map();
  /** @type {Set<string>} calls this device stopped ringing for (answered, declined, dismissed) */
  #silenced = new Set();
  /** @type {{ call: Call, media: CallMedia, view: CallView } | null} */
  #active = null;
  /** @type {Set<() => void>} */
  #listeners = new Set();
  #ringtone = new Ringtone();

  /** @param {CallHost} host */
  constructor(host) {
    this.#host = host;
  }

  /** The call this tab is in, if any. */
  get active() {
    return this.#active?.call ?? null;
  }

  /**
   * @param {() => void} listener hears when this tab joins or leaves a call
   * @returns {() => void}
   */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed() {
    for (const listener of this.#listeners) listener();
  }

  // What the socket brings.

  /**
   * A conversation event, live or caught up: call.started rings (if the
   * call still rings for this person), call.ended stops it.
   * @param {ConversationEvent} event
   */
  onEvent(event) {
    const id = event.call?.id;
    if (!id) return;
    if (event.type === 'call.started' && event.actor_id !== this.#host.session.user.id) {
      if (this.#ringing.has(id) || this.#silenced.has(id) || this.#active?.call.id === id) return;
      this.#host.session.api.call(id).then((call) => this.onCall(call)).catch(() => {});
    } else if (event.type === 'call.ended') {
      this.#stopRinging(id);
    }
  }

  /**
   * A `call` frame: the whole call as it is now.
   * @param {Call} call
   */
  onCall(call) {
    const me = call.members.find((member) => member.user_id === this.#host.session.user.id);
    const rings = call.state === 'ringing' && me?.state === 'ringing';
    if (rings && !this.#ringing.has(call.id) && !this.#silenced.has(call.id) && this.#active?.call.id !== call.id) {
      this.#ring(call);
    } else if (!rings) {
      this.#stopRinging(call.id);
    }
    const active = this.#active;
    if (active && active.call.id === call.id) {
      active.call = call;
      if (call.state === 'ended') this.#finish();
      else active.view.update(call);
    }
  }

  /**
   * An `rtc` frame: a media signal or a drawing for a call this tab is in.
   * @param {Record<string, any>} frame
   */
  onRtc(frame) {
    const active = this.#active;
    if (active && frame.call_id === active.call.id) active.media.receive(frame);
  }

  /**
   * The socket (re)connected: a device opened in the middle of a call, or
   * back from being offline, rings for calls that still ring for this
   * person (events it never saw would not tell it); and a call this tab
   * was in lost its media with the old connection.
   */
  reconnected() {
    this.#host.session.api.liveCalls().then((live) => {
      for (const call of live.items) this.onCall(call);
    }).catch(() => {});
    const active = this.#active;
    if (!active) return;
    const { call } = active;
    this.#finish();
    // If it goes on without us, join again as a new device.
    this.#host.session.api.call(call.id).then((latest) => {
      if (latest.state !== 'ended' && !this.#active) this.#join(latest, { camera: latest.kind === 'video' });
    }).catch(() => {});
  }

  // Ringing.

  /** @param {Call} call */
  #ring(call) {
    const { session } = this.#host;
    const callerId = call.started_by;
    const conversation = session.store.conversation(call.conversation_id);
    const callerName = session.store.nameOf(callerId)
      ?? (conversation?.peer?.id === callerId ? conversation.peer.name : undefined)
      ?? session.i18n.t('message.someone');
    const role = call.members.find((member) => member.user_id === session.user.id)?.role;
    const dialog = ringingDialog({
      i18n: session.i18n,
      call,
      callerId,
      callerName,
      role,
      accept: () => {
        this.#silence(call.id);
        void this.accept(call);
      },
      decline: () => {
        this.#silence(call.id);
        session.api.callAction(call.id, 'decline').catch(() => {});
      },
      dismissed: () => this.#silence(call.id),
    });
    const timer = window.setTimeout(() => this.#stopRinging(call.id), ringLimitMs);
    this.#ringing.set(call.id, { close: dialog.close, timer });
    this.#ringtone.start();
    // A hidden tab also shows a desktop notification (when allowed).
    if (document.visibilityState === 'hidden') {
      session.notifier.notify({
        conversationId: call.conversation_id,
        title: callerName,
        text: session.i18n.t(call.one_way ? 'call.incoming.help' : call.kind === 'voice' ? 'call.incoming.voice' : 'call.incoming.video'),
        viewing: false,
      });
    }
  }

  /** @param {string} id */
  #silence(id) {
    this.#silenced.add(id);
    const ringing = this.#ringing.get(id);
    if (!ringing) return;
    window.clearTimeout(ringing.timer);
    this.#ringing.delete(id);
    if (this.#ringing.size === 0) this.#ringtone.stop();
  }

  /** @param {string} id */
  #stopRinging(id) {
    const ringing = this.#ringing.get(id);
    if (!ringing) return;
    this.#silence(id);
    ringing.close();
  }

  // Starting, answering, leaving.

  /**
   * Starts a call in a conversation, or joins the one going on there.
   * @param {string} conversationId
   * @param {'voice' | 'video' | 'help'} kind
   * @param {'helper' | 'customer'} [role] in a help call, the starter's
   */
  async start(conversationId, kind, role) {
    const { session } = this.#host;
    const active = this.#active;
    if (active) {
      if (active.call.conversation_id === conversationId) {
        active.view.focus();
        return;
      }
      throw new Error(session.i18n.t('call.elsewhere'));
    }
    /** @type {Call} */
    let call;
    try {
      call = await session.api.startCall(conversationId, kind, kind === 'help' ? role ?? 'helper' : undefined);
    } catch (error) {
      const existing = error instanceof ApiError && error.status === 409
        ? error.fieldErrors.find((field) => field.field === 'call_id')?.detail
        : undefined;
      if (!existing) throw error;
      call = await session.api.call(existing);
    }
    this.#join(call, { camera: kind !== 'voice' });
  }

  /** @param {Call} call */
  async accept(call) {
    if (this.#active) await this.hangUp();
    this.#join(call, { camera: call.kind === 'video' });
  }

  /**
   * @param {Call} call
   * @param {{ camera: boolean }} want
   */
  #join(call, want) {
    const { session } = this.#host;
    const media = new CallMedia({
      callId: call.id,
      signaling: {
        request: (frame) => this.#host.rtcRequest({ call_id: call.id, ...frame }),
        send: (frame) => this.#host.rtcSend({ call_id: call.id, ...frame }),
      },
    });
    const view = new CallView({ session, call, media, hangUp: () => void this.hangUp() });
    this.#active = { call, media, view };
    view.open();
    this.#changed();
    media.connect(want).catch((error) => {
      if (this.#active?.media !== media) return;
      view.failed(error instanceof Error ? error.message : String(error));
    });
    exposeForTests(media);
  }

  /**
   * Leaves the call: a direct call (or one still ringing out) ends for
   * both; in a group the others go on.
   */
  async hangUp() {
    const active = this.#active;
    if (!active) return;
    const { session } = this.#host;
    const conversation = session.store.conversation(active.call.conversation_id);
    const endForAll = conversation?.kind !== 'group' || active.call.state === 'ringing';
    this.#finish();
    await active.media.leave();
    await session.api.callAction(active.call.id, endForAll ? 'end' : 'leave').catch(() => {});
  }

  /** Takes the call off the screen and stops its media. */
  #finish() {
    const active = this.#active;
    if (!active) return;
    this.#active = null;
    active.media.close();
    active.view.close();
    this.#changed();
  }

  /** The session is over (signed out). */
  stop() {
    for (const id of [...this.#ringing.keys()]) this.#stopRinging(id);
    const active = this.#active;
    if (active) {
      void active.media.leave();
      this.#finish();
    }
  }
}

/**
 * Browser tests read the media of the call through window.__parleyCalls,
 * only when they asked for it (localStorage "parley.debug" = "calls"):
 * the same page could reach all of it anyway, so this opens nothing, and
 * outside tests nothing is exposed.
 * @param {CallMedia} media
 */
function exposeForTests(media) {
  let wanted = false;
  try {
    wanted = localStorage.getItem('parley.debug') === 'calls';
  } catch {
    wanted = false;
  }
  if (!wanted) return;
  /** @type {any} */ (window).__parleyCalls = media;
}
