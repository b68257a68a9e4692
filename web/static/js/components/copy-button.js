// <parley-copy-button>: copies a piece of text to the clipboard and says
// so, for secrets that are shown once.

import { el } from './dom.js';

/**
 * @typedef {Object} CopyOptions
 * @property {() => string} text what to copy, read when pressed
 * @property {string} label the button's text
 * @property {string} copied said once it worked
 * @property {string} failed said when the clipboard refused
 * @property {() => void} [onFail] e.g. select the text for a manual copy
 */

/** How long the button says "Copied" before it reads as before. */
const confirmationMs = 2000;

export class CopyButton extends HTMLElement {
  /** @type {HTMLButtonElement} */
  #button = el('button', { type: 'button', class: 'button-secondary' });
  /** @type {HTMLSpanElement} */
  #status = el('span', { class: 'visually-hidden', role: 'status' });
  /** @type {number | undefined} */
  #timer;

  /**
   * @param {CopyOptions} options
   * @returns {CopyButton}
   */
  static create(options) {
    const copy = new CopyButton();
    copy.#build(options);
    return copy;
  }

  /** @param {CopyOptions} options */
  #build({ text, label, copied, failed, onFail }) {
    this.#button.textContent = label;
    this.replaceChildren(this.#button, this.#status);
    this.#button.addEventListener('click', async () => {
      window.clearTimeout(this.#timer);
      try {
        // The Clipboard API needs a secure context (HTTPS or localhost).
        await navigator.clipboard.writeText(text());
        this.#button.textContent = copied;
        this.#status.textContent = copied;
        this.#timer = window.setTimeout(() => {
          this.#button.textContent = label;
          this.#status.textContent = '';
        }, confirmationMs);
      } catch {
        this.#status.textContent = failed;
        onFail?.();
      }
    });
  }

  disconnectedCallback() {
    window.clearTimeout(this.#timer);
  }
}

customElements.define('parley-copy-button', CopyButton);
