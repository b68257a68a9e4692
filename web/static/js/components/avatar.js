// A person's or group's initials on a colour of their own, with an
// optional presence dot. The colour comes from the id, so it stays the
// same on every device and across renames.

import { el } from './dom.js';

/** How many avatar-N colour classes app.css defines. */
const colours = 8;

/** @typedef {'online' | 'away' | 'offline'} PresenceStatus */

/**
 * The first letter of the first two words (one for most CJK names).
 * @param {string} name
 * @returns {string}
 */
export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.slice(0, 2).map((word) => [...word][0] ?? '');
  // Korean, Chinese and Japanese names are written without spaces; one
  // syllable reads better than two half names.
  if (/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(letters[0])) return letters[0];
  return letters.join('').toUpperCase();
}

/**
 * @param {string} id
 * @returns {string}
 */
function colourClass(id) {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return `avatar-${hash % colours}`;
}

/**
 * @typedef {Object} AvatarOptions
 * @property {string} id whose colour
 * @property {string} name whose initials
 * @property {PresenceStatus} [status] draws the presence dot
 * @property {string} [statusLabel] said by screen readers for the dot
 * @property {'small' | 'medium'} [size]
 * @property {boolean} [decorative] hidden from screen readers, dot included
 *   (the text beside it says the status)
 */

/**
 * @param {AvatarOptions} options
 * @returns {HTMLSpanElement}
 */
export function avatar({ id, name, status, statusLabel, size = 'medium', decorative = false }) {
  return el('span', { class: `avatar avatar-${size} ${colourClass(id)}`, 'aria-hidden': decorative ? 'true' : undefined },
    el('span', { class: 'avatar-initials', 'aria-hidden': 'true' }, initials(name)),
    status && el('span', { class: `presence-dot presence-${status}` },
      el('span', { class: 'visually-hidden' }, statusLabel ?? status)));
}
