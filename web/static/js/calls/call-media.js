// One device's media in one call, signalled over the realtime socket as
// `rtc` frames (docs/PROTOCOL.md, "Media"). Two PeerConnections: this
// device offers on "publish" (declaring which source each m-section
// carries), the server offers on "subscribe" and this device answers, so
// renegotiation never collides. It owns the local tracks (microphone,
// camera, screen), the remote ones, who is speaking, the network quality
// and the drawings; the call view listens and draws.

/** @typedef {'microphone' | 'camera' | 'screen' | 'screen_audio'} Source */
/** @typedef {'good' | 'fair' | 'poor' | 'unknown'} Quality */

/**
 * What the server lets this device do (the connect ack's permissions).
 * @typedef {Object} Permissions
 * @property {Source[]} publish
 * @property {boolean} subscribe
 * @property {boolean} annotate
 */

/**
 * A track someone else publishes (the "tracks" signal).
 * @typedef {Object} TrackInfo
 * @property {string} id the track id on the subscribe connection
 * @property {string} participant_id
 * @property {Source} source
 * @property {'audio' | 'video'} kind
 * @property {boolean} paused
 */

/**
 * One drawing operation over a shared screen (internal/calls/annotations.go).
 * @typedef {Object} Annotation
 * @property {number} [seq]
 * @property {string} [user_id]
 * @property {string} [at]
 * @property {string} target the participant whose screen is drawn on
 * @property {'stroke' | 'undo' | 'clear'} op
 * @property {'pen' | 'pointer'} [tool]
 * @property {string} [color]
 * @property {string} [stroke]
 * @property {[number, number][]} [points]
 */

/**
 * How the media reaches the server: rtc frames over the socket.
 * @typedef {Object} Signaling
 * @property {(frame: Record<string, unknown>) => Promise<Record<string, any>>} request an rtc frame with an id; resolves to the ack
 * @property {(frame: Record<string, unknown>) => boolean} send an rtc frame without an answer
 */

/**
 * @typedef {'tracks' | 'local' | 'speakers' | 'quality' | 'annotation' | 'state'} MediaTopic
 */

/** Packet loss (fraction) and round trip (seconds) at or under which a link is good, or fair. */
const good = { loss: 0.02, rtt: 0.15 };
const fair = { loss: 0.08, rtt: 0.4 };

export class CallMedia {
  /** @type {string} */
  callId;
  /** @type {string} */
  participantId = '';
  /** @type {Permissions} */
  permissions = { publish: [], subscribe: true, annotate: false };
  /** @type {'connecting' | 'connected' | 'reconnecting' | 'closed'} */
  state = 'connecting';
  /** @type {Quality} */
  quality = 'unknown';
  /** @type {Map<string, TrackInfo>} by track id */
  tracks = new Map();
  /** @type {Map<string, MediaStreamTrack>} received tracks, by track id */
  remote = new Map();
  /** @type {Map<string, number>} participant id → audio level (0…127) */
  speakers = new Map();
  /** @type {Map<Source, MediaStreamTrack>} what this device sends */
  local = new Map();
  /** @type {Set<Source>} sources this device paused */
  paused = new Set();
  muted = false;
  /** @type {Annotation[]} every drawing so far, in seq order */
  annotations = [];

  /** @type {Signaling} */
  #signaling;
  /** @type {RTCConfiguration} */
  #config = {};
  /** @type {RTCPeerConnection | null} */
  #pub = null;
  /** @type {RTCPeerConnection | null} */
  #sub = null;
  /** @type {Map<Source, RTCRtpTransceiver>} */
  #transceivers = new Map();
  /** @type {Promise<void>} publish negotiations, one after another */
  #pubChain = Promise.resolve();
  /** @type {Promise<void>} subscribe offers, one after another */
  #subChain = Promise.resolve();
  /** @type {RTCIceCandidateInit[]} publish candidates before the server has the connection */
  #pubCandidates = [];
  #pubReady = false;
  /** @type {Record<string, any>[]} signals that came before the connect ack */
  #early = [];
  #connected = false;
  /** @type {Map<string, string>} subscribe mid → track id, from the offer's msid lines */
  #midTrack = new Map();
  /** @type {Map<string, Set<(detail?: any) => void>>} */
  #listeners = new Map();
  /** @type {number | undefined} */
  #statsTimer;
  /** @type {Map<string, { lost: number, received: number }>} */
  #lastInbound = new Map();
  #lastSeq = 0;
  /** @type {(() => void)[]} */
  #cleanup = [];
  #restarting = false;

  /**
   * @param {{ callId: string, signaling: Signaling }} options
   */
  constructor({ callId, signaling }) {
    this.callId = callId;
    this.#signaling = signaling;
  }

  /**
   * @param {MediaTopic} topic
   * @param {(detail?: any) => void} listener
   * @returns {() => void}
   */
  on(topic, listener) {
    let set = this.#listeners.get(topic);
    if (!set) {
      set = new Set();
      this.#listeners.set(topic, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * @param {MediaTopic} topic
   * @param {any} [detail]
   */
  #emit(topic, detail) {
    for (const listener of this.#listeners.get(topic) ?? []) listener(detail);
  }

  /** Whether the media has been left or closed (read afresh after each await). */
  get closed() {
    return this.state === 'closed';
  }

  /** @param {Source} source */
  may(source) {
    return this.permissions.publish.includes(source);
  }

  /**
   * Joins the call's media (answering it if it rings) and starts sending
   * the microphone, and the camera when wanted and allowed. A camera is
   * never asked for when the server would not take it.
   * @param {{ camera: boolean }} want
   */
  async connect(want) {
    const ack = await this.#signaling.request({ action: 'connect' });
    this.participantId = String(ack.participant_id ?? '');
    if (ack.permissions) this.permissions = ack.permissions;
    this.#config = { iceServers: Array.isArray(ack.ice_servers) ? ack.ice_servers : [] };
    this.#connected = true;
    for (const frame of this.#early.splice(0)) this.#signal(frame);
    this.#watchNetwork();
    this.#statsTimer = window.setInterval(() => void this.#measure(), 2000);
    this.state = 'connected';
    this.#emit('state');

    const camera = want.camera && this.may('camera');
    const microphone = this.may('microphone');
    if (microphone || camera) {
      /** @type {MediaStream | null} */
      let stream = null;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: microphone, video: camera ? videoConstraints() : false });
      } catch {
        // No microphone or camera, or the person said no: the call goes
        // on receiving only; the view says so.
        if (camera && microphone) {
          stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false }).catch(() => null);
        }
      }
      if (this.closed) {
        for (const track of stream?.getTracks() ?? []) track.stop();
        return;
      }
      for (const track of stream?.getTracks() ?? []) {
        this.#setLocal(track.kind === 'audio' ? 'microphone' : 'camera', track);
      }
    }
    await this.#negotiate();
    void this.catchUpAnnotations();
  }

  /** @returns {RTCPeerConnection} */
  #publisher() {
    if (this.#pub) return this.#pub;
    const pc = new RTCPeerConnection(this.#config);
    pc.addEventListener('icecandidate', (event) => {
      if (!event.candidate) return;
      const candidate = event.candidate.toJSON();
      if (this.#pubReady) this.#sendCandidate('publish', candidate);
      else this.#pubCandidates.push(candidate);
    });
    pc.addEventListener('connectionstatechange', () => this.#connectionChanged(pc));
    this.#pub = pc;
    return pc;
  }

  /** @returns {RTCPeerConnection} */
  #subscriber() {
    if (this.#sub) return this.#sub;
    const pc = new RTCPeerConnection(this.#config);
    pc.addEventListener('icecandidate', (event) => {
      if (event.candidate) this.#sendCandidate('subscribe', event.candidate.toJSON());
    });
    pc.addEventListener('track', (event) => {
      const mid = event.transceiver.mid ?? '';
      const id = this.#midTrack.get(mid) ?? event.track.id;
      this.remote.set(id, event.track);
      event.track.addEventListener('ended', () => {
        if (this.remote.get(id) === event.track) this.remote.delete(id);
        this.#emit('tracks');
      });
      this.#emit('tracks');
    });
    pc.addEventListener('connectionstatechange', () => this.#connectionChanged(pc));
    this.#sub = pc;
    return pc;
  }

  /**
   * @param {'publish' | 'subscribe'} pc
   * @param {RTCIceCandidateInit} candidate
   */
  #sendCandidate(pc, candidate) {
    this.#signaling.send({ action: 'candidate', pc, candidate });
  }

  /**
   * Puts a track on its source's transceiver (made once, reused), so the
   * publish offer keeps its m-sections and at most one per source.
   * @param {Source} source
   * @param {MediaStreamTrack | null} track
   */
  #setLocal(source, track) {
    const old = this.local.get(source);
    if (old && old !== track) old.stop();
    if (track) this.local.set(source, track);
    else this.local.delete(source);
    if (source === 'microphone' && track) track.enabled = !this.muted;
    const pc = this.#publisher();
    let transceiver = this.#transceivers.get(source);
    if (!transceiver && track) {
      transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [new MediaStream([track])] });
      this.#transceivers.set(source, transceiver);
    } else if (transceiver) {
      void transceiver.sender.replaceTrack(track);
      transceiver.direction = track ? 'sendonly' : 'inactive';
    }
    this.#emit('local');
  }

  /**
   * Offers on the publish connection with what it now sends; the server
   * answers. One negotiation at a time.
   * @param {{ iceRestart?: boolean }} [options]
   * @returns {Promise<void>}
   */
  #negotiate(options = {}) {
    const run = async () => {
      if (this.state === 'closed' || this.#transceivers.size === 0) return;
      const pc = this.#publisher();
      const offer = await pc.createOffer(options);
      await pc.setLocalDescription(offer);
      /** @type {Record<string, Source>} */
      const sources = {};
      for (const [source, transceiver] of this.#transceivers) {
        if (transceiver.mid !== null && transceiver.direction === 'sendonly') sources[transceiver.mid] = source;
      }
      const ack = await this.#signaling.request({ action: 'publish', sdp: pc.localDescription?.sdp ?? offer.sdp, sources });
      if (this.closed) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: String(ack.sdp) });
      if (!this.#pubReady) {
        this.#pubReady = true;
        for (const candidate of this.#pubCandidates.splice(0)) this.#sendCandidate('publish', candidate);
      }
    };
    const next = this.#pubChain.then(run);
    this.#pubChain = next.catch(() => {});
    return next;
  }

  /**
   * A frame of the server for this call: a signal or a drawing.
   * @param {Record<string, any>} frame
   */
  receive(frame) {
    if (this.state === 'closed') return;
    if (frame.annotation) {
      this.#applyAnnotation(frame.annotation);
      return;
    }
    if (!frame.signal) return;
    if (!this.#connected) {
      this.#early.push(frame);
      return;
    }
    this.#signal(frame);
  }

  /** @param {Record<string, any>} frame */
  #signal(frame) {
    const signal = frame.signal;
    switch (signal.type) {
      case 'offer':
        this.#subChain = this.#subChain.then(() => this.#answer(String(signal.sdp))).catch(() => {});
        break;
      case 'candidate': {
        const pc = signal.pc === 'publish' ? this.#pub : this.#subscriber();
        const add = () => pc?.addIceCandidate(signal.candidate).catch(() => {});
        // A subscribe candidate waits for the offer it belongs to.
        if (signal.pc === 'publish') void this.#pubChain.then(add);
        else this.#subChain = this.#subChain.then(add);
        break;
      }
      case 'tracks': {
        this.tracks = new Map((Array.isArray(signal.tracks) ? signal.tracks : []).map((/** @type {TrackInfo} */ t) => [t.id, t]));
        this.#emit('tracks');
        break;
      }
      case 'speakers': {
        this.speakers = new Map((Array.isArray(signal.speakers) ? signal.speakers : [])
          .map((/** @type {{ participant_id: string, level: number }} */ s) => [s.participant_id, s.level]));
        this.#emit('speakers');
        break;
      }
      default:
        break;
    }
  }

  /** @param {string} sdp the server's offer on the subscribe connection */
  async #answer(sdp) {
    if (this.state === 'closed') return;
    const pc = this.#subscriber();
    for (const [mid, track] of msidByMid(sdp)) this.#midTrack.set(mid, track);
    await pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await this.#signaling.request({ action: 'answer', sdp: pc.localDescription?.sdp ?? answer.sdp });
    this.#emit('tracks');
  }

  // What this device sends.

  /**
   * Mutes the microphone here (it sends silence) and pauses it in the
   * server, so the others see "Muted" and nothing is forwarded.
   * @param {boolean} muted
   */
  async setMuted(muted) {
    this.muted = muted;
    const track = this.local.get('microphone');
    if (track) track.enabled = !muted;
    this.#emit('local');
    if (track && this.#pubReady) await this.#pause('microphone', muted);
  }

  /**
   * Turns the camera on (asking for it) or off (releasing it, so its light
   * goes out). Others see the camera paused while it is off.
   * @param {boolean} on
   */
  async setCamera(on) {
    if (!this.may('camera')) return;
    if (!on) {
      const transceiver = this.#transceivers.get('camera');
      this.local.get('camera')?.stop();
      this.local.delete('camera');
      if (transceiver) {
        await transceiver.sender.replaceTrack(null);
        await this.#pause('camera', true);
      }
      this.#emit('local');
      return;
    }
    const stream = await navigator.mediaDevices.getUserMedia({ video: videoConstraints(this.deviceOf('camera')) });
    const track = stream.getVideoTracks()[0];
    const transceiver = this.#transceivers.get('camera');
    if (this.closed) {
      track.stop();
      return;
    }
    if (transceiver) {
      // The m-section stays; only its track comes back.
      this.local.set('camera', track);
      await transceiver.sender.replaceTrack(track);
      await this.#pause('camera', false);
    } else {
      this.#setLocal('camera', track);
      await this.#negotiate();
    }
  }

  /**
   * Shares a screen (and its sound, when the browser offers it), or stops.
   * @param {boolean} on
   * @returns {Promise<boolean>} whether the screen is shared now
   */
  async setScreen(on) {
    if (!on) {
      for (const source of /** @type {Source[]} */ (['screen', 'screen_audio'])) {
        if (this.local.has(source)) this.#setLocal(source, null);
        this.paused.delete(source);
      }
      await this.#negotiate();
      return false;
    }
    if (!this.may('screen')) return false;
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { max: 15 } }, audio: this.may('screen_audio') });
    const video = stream.getVideoTracks()[0];
    if (!video || this.closed) {
      for (const track of stream.getTracks()) track.stop();
      return false;
    }
    // The browser's own "Stop sharing" ends the track.
    video.addEventListener('ended', () => {
      if (this.local.get('screen') === video) void this.setScreen(false);
    });
    this.#setLocal('screen', video);
    const audio = stream.getAudioTracks()[0];
    if (audio && this.may('screen_audio')) this.#setLocal('screen_audio', audio);
    else audio?.stop();
    for (const source of /** @type {Source[]} */ (['screen', 'screen_audio'])) {
      if (this.paused.delete(source) && this.local.has(source)) await this.#pause(source, false);
    }
    await this.#negotiate();
    return true;
  }

  /**
   * Pauses the shared screen for everyone (the server stops forwarding
   * it; the others see "paused") or resumes it.
   * @param {boolean} paused
   */
  async pauseScreen(paused) {
    for (const source of /** @type {Source[]} */ (['screen', 'screen_audio'])) {
      if (this.local.has(source)) await this.#pause(source, paused);
    }
  }

  /**
   * @param {Source} source
   * @param {boolean} paused
   */
  async #pause(source, paused) {
    if (paused) this.paused.add(source);
    else this.paused.delete(source);
    this.#emit('local');
    try {
      await this.#signaling.request({ action: 'pause', source, paused });
    } catch {
      // Not published yet: the next offer carries the state anyway.
    }
  }

  /**
   * The device a source is taken from now.
   * @param {'microphone' | 'camera'} source
   * @returns {string | undefined}
   */
  deviceOf(source) {
    return this.local.get(source)?.getSettings().deviceId;
  }

  /**
   * Takes a source from another device, without renegotiating
   * (replaceTrack).
   * @param {'microphone' | 'camera'} source
   * @param {string} deviceId
   */
  async useDevice(source, deviceId) {
    if (!this.local.has(source)) return;
    const stream = await navigator.mediaDevices.getUserMedia(source === 'microphone'
      ? { audio: { deviceId: { exact: deviceId } } }
      : { video: videoConstraints(deviceId) });
    const track = source === 'microphone' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    if (this.state === 'closed') {
      track.stop();
      return;
    }
    this.#setLocal(source, track);
  }

  // Drawings.

  /**
   * Sends a drawing; it comes back numbered, like everyone's.
   * @param {Annotation} annotation
   */
  async annotate(annotation) {
    await this.#signaling.request({ action: 'annotate', annotation });
  }

  /** Reads the drawings made before this device joined. */
  async catchUpAnnotations() {
    try {
      const ack = await this.#signaling.request({ action: 'annotations', after: this.#lastSeq });
      for (const annotation of ack.annotations ?? []) this.#applyAnnotation(annotation);
    } catch {
      // The live ones still arrive.
    }
  }

  /** @param {Annotation} annotation */
  #applyAnnotation(annotation) {
    const seq = annotation.seq ?? 0;
    if (seq <= this.#lastSeq) return;
    this.#lastSeq = seq;
    this.annotations.push(annotation);
    this.#emit('annotation', annotation);
  }

  // The network.

  /** A device whose network changed restarts ICE on both connections. */
  #watchNetwork() {
    const onOnline = () => void this.restart();
    window.addEventListener('online', onOnline);
    this.#cleanup.push(() => window.removeEventListener('online', onOnline));
    const connection = /** @type {EventTarget | undefined} */ (/** @type {any} */ (navigator).connection);
    connection?.addEventListener('change', onOnline);
    this.#cleanup.push(() => connection?.removeEventListener('change', onOnline));
  }

  /** @param {RTCPeerConnection} pc */
  #connectionChanged(pc) {
    if (this.state === 'closed') return;
    if (pc.connectionState === 'failed') void this.restart();
    const states = [this.#pub, this.#sub].filter((c) => c !== null).map((c) => c?.connectionState);
    const next = states.some((s) => s === 'failed' || s === 'disconnected') ? 'reconnecting' : 'connected';
    if (next !== this.state) {
      this.state = next;
      this.#emit('state');
    }
  }

  /** Restarts ICE: the server's next subscribe offer restarts, and this device offers anew. */
  async restart() {
    if (this.#restarting || this.state === 'closed') return;
    this.#restarting = true;
    try {
      if (this.#sub) await this.#signaling.request({ action: 'restart' }).catch(() => {});
      if (this.#pub) await this.#negotiate({ iceRestart: true }).catch(() => {});
    } finally {
      this.#restarting = false;
    }
  }

  /** Reads loss and round trip from getStats into good, fair or poor. */
  async #measure() {
    if (this.state === 'closed') return;
    let lost = 0;
    let received = 0;
    /** @type {number[]} */
    const rtts = [];
    /** @type {number[]} */
    const losses = [];
    for (const pc of [this.#pub, this.#sub]) {
      if (!pc) continue;
      let report;
      try {
        report = await pc.getStats();
      } catch {
        continue;
      }
      report.forEach((stat) => {
        if (stat.type === 'candidate-pair' && stat.nominated && typeof stat.currentRoundTripTime === 'number') {
          rtts.push(stat.currentRoundTripTime);
        }
        if (stat.type === 'remote-inbound-rtp' && typeof stat.fractionLost === 'number') losses.push(stat.fractionLost);
        if (stat.type === 'inbound-rtp') {
          const last = this.#lastInbound.get(stat.id) ?? { lost: 0, received: 0 };
          lost += Math.max(0, (stat.packetsLost ?? 0) - last.lost);
          received += Math.max(0, (stat.packetsReceived ?? 0) - last.received);
          this.#lastInbound.set(stat.id, { lost: stat.packetsLost ?? 0, received: stat.packetsReceived ?? 0 });
        }
      });
    }
    if (lost + received > 0) losses.push(lost / (lost + received));
    /** @type {Quality} */
    let quality = 'unknown';
    if (rtts.length > 0 || losses.length > 0) {
      const loss = Math.max(0, ...losses);
      const rtt = Math.max(0, ...rtts);
      quality = loss <= good.loss && rtt <= good.rtt ? 'good' : loss <= fair.loss && rtt <= fair.rtt ? 'fair' : 'poor';
    }
    if (quality !== this.quality) {
      this.quality = quality;
      this.#emit('quality');
    }
  }

  /** The two connections, for the browser tests (through the debug hook). */
  connections() {
    return { publish: this.#pub, subscribe: this.#sub };
  }

  /**
   * What the subscribe connection receives and decodes, for the browser
   * tests (through the debug hook) and for support: each inbound video
   * stream's mid and frames decoded so far.
   * @returns {Promise<{ mid: string, framesDecoded: number, trackId: string, packetsReceived: number, keyFramesDecoded: number, pliCount: number }[]>}
   */
  async inboundVideo() {
    if (!this.#sub) return [];
    const report = await this.#sub.getStats();
    /** @type {{ mid: string, framesDecoded: number, trackId: string, packetsReceived: number, keyFramesDecoded: number, pliCount: number }[]} */
    const out = [];
    report.forEach((stat) => {
      if (stat.type !== 'inbound-rtp' || stat.kind !== 'video') return;
      const mid = String(stat.mid ?? '');
      out.push({
        mid, trackId: this.#midTrack.get(mid) ?? '', framesDecoded: Number(stat.framesDecoded ?? 0),
        packetsReceived: Number(stat.packetsReceived ?? 0), keyFramesDecoded: Number(stat.keyFramesDecoded ?? 0), pliCount: Number(stat.pliCount ?? 0),
      });
    });
    return out;
  }

  /** Leaves the call's media here: tells the server, stops every track. */
  async leave() {
    if (this.state === 'closed') return;
    const wasConnected = this.#connected;
    this.close();
    if (wasConnected) await this.#signaling.request({ action: 'leave' }).catch(() => {});
  }

  /** Stops everything without telling the server (the call ended). */
  close() {
    if (this.state === 'closed') return;
    this.state = 'closed';
    window.clearInterval(this.#statsTimer);
    for (const cleanup of this.#cleanup) cleanup();
    for (const track of this.local.values()) track.stop();
    this.local.clear();
    this.#pub?.close();
    this.#sub?.close();
    this.#emit('state');
  }
}

/**
 * @param {string} [deviceId]
 * @returns {MediaTrackConstraints}
 */
function videoConstraints(deviceId) {
  return { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 }, ...(deviceId ? { deviceId: { exact: deviceId } } : {}) };
}

/**
 * The track id of each m-section of an SDP (its a=msid line), by mid.
 * @param {string} sdp
 * @returns {Map<string, string>}
 */
export function msidByMid(sdp) {
  /** @type {Map<string, string>} */
  const out = new Map();
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
    const track = /^a=msid:\S+ (\S+)/m.exec(section)?.[1];
    if (mid && track) out.set(mid, track);
  }
  return out;
}
