// A tile for one person's picture in a call: their video (camera or
// shared screen) or, without one, their initials; their name, whether
// they are muted or speaking, and "paused" for a paused screen. Video
// elements are reused when the tile is redrawn, so playback never
// stutters.

import { el, replaceChildren } from './dom.js';
import { avatar } from './avatar.js';

/**
 * @typedef {Object} TileState
 * @property {string} id the person's (or program's) id, for the avatar colour
 * @property {string} name
 * @property {string} [avatarName] whose initials to show, when not the name's ("You")
 * @property {MediaStreamTrack | null} video
 * @property {'camera' | 'screen'} source
 * @property {boolean} [self] this device's own picture (mirrored camera, always muted)
 * @property {boolean} [speaking]
 * @property {boolean} [muted]
 * @property {boolean} [paused] a screen its sharer paused
 * @property {string} [pausedLabel]
 * @property {string} [speakingLabel]
 * @property {string} [mutedLabel]
 */

export class VideoTile {
  /** @type {HTMLElement} */
  element;
  /** @type {HTMLVideoElement} */
  video;
  /** @type {HTMLElement} */
  #placeholder = el('div', { class: 'tile-placeholder' });
  /** @type {HTMLElement} */
  #caption = el('figcaption', { class: 'tile-caption' });
  /** @type {HTMLElement} */
  #overlay = el('div', { class: 'tile-overlay' });
  /** @type {MediaStreamTrack | null} */
  #track = null;
  #signature = '';

  constructor() {
    this.video = el('video', { autoplay: true, playsinline: true, class: 'tile-video' });
    this.video.muted = true; // sound plays from its own audio element
    this.element = el('figure', { class: 'video-tile' }, this.video, this.#placeholder, this.#overlay, this.#caption);
  }

  /** The layer over the picture, for drawings. */
  get overlay() {
    return this.#overlay;
  }

  /** @param {TileState} state */
  update(state) {
    const track = state.video && state.video.readyState !== 'ended' ? state.video : null;
    if (track !== this.#track) {
      this.#track = track;
      this.video.srcObject = track ? new MediaStream([track]) : null;
      if (track) this.video.play().catch(() => {});
    }
    const showVideo = Boolean(track) && !state.paused;
    this.element.dataset.source = state.source;
    this.element.dataset.video = showVideo ? 'on' : 'off';
    this.element.classList.toggle('is-self', Boolean(state.self) && state.source === 'camera');
    this.element.classList.toggle('is-speaking', Boolean(state.speaking));
    this.video.hidden = !showVideo;
    this.#placeholder.hidden = showVideo;
    const signature = JSON.stringify([state.id, state.name, state.avatarName, state.speaking, state.muted, state.paused, state.source]);
    if (signature === this.#signature) return;
    this.#signature = signature;
    replaceChildren(this.#placeholder,
      avatar({ id: state.id, name: state.avatarName ?? state.name, size: 'medium', decorative: true }),
      state.paused ? el('p', { class: 'tile-paused' }, state.pausedLabel ?? '') : null,
    );
    replaceChildren(this.#caption,
      el('span', { class: 'tile-name' }, state.name),
      state.muted ? el('span', { class: 'tile-badge' }, state.mutedLabel ?? '') : null,
      state.speaking ? el('span', { class: 'tile-speaking' }, el('span', { class: 'speaking-bars', 'aria-hidden': 'true' }, el('span'), el('span'), el('span')),
        el('span', { class: 'visually-hidden' }, state.speakingLabel ?? '')) : null,
    );
  }

  /**
   * Where the picture shows inside the tile (the video keeps its aspect
   * ratio), in CSS pixels relative to the tile.
   * @returns {{ x: number, y: number, width: number, height: number }}
   */
  pictureBox() {
    const box = this.element.getBoundingClientRect();
    const videoWidth = this.video.videoWidth;
    const videoHeight = this.video.videoHeight;
    if (!videoWidth || !videoHeight || box.width === 0 || box.height === 0) {
      return { x: 0, y: 0, width: box.width, height: box.height };
    }
    const scale = Math.min(box.width / videoWidth, box.height / videoHeight);
    const width = videoWidth * scale;
    const height = videoHeight * scale;
    return { x: (box.width - width) / 2, y: (box.height - height) / 2, width, height };
  }

  destroy() {
    this.video.srcObject = null;
    this.element.remove();
  }
}
