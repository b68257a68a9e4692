// Turning messages into what people read: text with its web links made
// clickable (and nothing else: the text never becomes markup), sizes,
// previews for the conversation list.

import { el } from '../components/dom.js';

/** @typedef {import('../api.js').Message} Message */
/** @typedef {import('../api.js').Attachment} Attachment */
/** @typedef {import('../i18n.js').I18n} I18n */

const urlPattern = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * The text of a message, with http and https addresses as links that open
 * in a new tab and tell the other site neither who sent the reader nor
 * how to reach back into this page.
 * @param {string} body
 * @returns {DocumentFragment}
 */
export function linkifiedText(body) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of body.matchAll(urlPattern)) {
    const start = match.index ?? 0;
    const address = trimTrailing(match[0]);
    const url = safeUrl(address);
    if (!url) continue;
    if (start > last) fragment.append(body.slice(last, start));
    fragment.append(el('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, address));
    last = start + address.length;
  }
  if (last < body.length) fragment.append(body.slice(last));
  return fragment;
}

/**
 * Punctuation that ends a sentence is not part of the address before it;
 * a closing bracket is, when the address opened one.
 * @param {string} address
 * @returns {string}
 */
function trimTrailing(address) {
  let end = address.length;
  while (end > 0) {
    const char = address[end - 1];
    if ('.,;:!?\'"'.includes(char)) {
      end -= 1;
    } else if (char === ')' && count(address.slice(0, end), '(') < count(address.slice(0, end), ')')) {
      end -= 1;
    } else {
      break;
    }
  }
  return address.slice(0, end);
}

/**
 * @param {string} text
 * @param {string} char
 * @returns {number}
 */
function count(text, char) {
  return text.split(char).length - 1;
}

/**
 * @param {string} address
 * @returns {string | null} the normalised URL when it is http or https
 */
function safeUrl(address) {
  try {
    const url = new URL(address);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Types the server shows inline (the others are downloads). */
const inlineImages = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * @param {Attachment} attachment
 * @returns {boolean}
 */
export function isPreviewableImage(attachment) {
  const type = attachment.content_type.split(';')[0].trim().toLowerCase();
  return inlineImages.has(type);
}

/**
 * @param {number} bytes
 * @param {string} locale
 * @returns {string}
 */
export function fileSize(bytes, locale) {
  const units = /** @type {const} */ (['byte', 'kilobyte', 'megabyte', 'gigabyte']);
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return new Intl.NumberFormat(locale, {
    style: 'unit',
    unit: units[unit],
    unitDisplay: unit === 0 ? 'long' : 'short',
    maximumFractionDigits: unit === 0 || value >= 10 ? 0 : 1,
  }).format(value);
}

/**
 * A one-line summary of a message for the conversation list and
 * notifications.
 * @param {Message} message
 * @param {I18n} i18n
 * @returns {string}
 */
export function messagePreview(message, i18n) {
  if (message.deleted) return i18n.t('message.deleted');
  const text = message.body.replace(/\s+/g, ' ').trim();
  if (text) return text.length > 140 ? `${text.slice(0, 139)}…` : text;
  const [first] = message.attachments;
  if (!first) return '';
  if (message.attachments.length > 1) return i18n.t('preview.files', { count: message.attachments.length });
  return isPreviewableImage(first) ? i18n.t('preview.photo') : i18n.t('preview.file', { name: first.name });
}
