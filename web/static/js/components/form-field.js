// <parley-field>: a labelled input with an optional hint and an error
// message that assistive technology reads with the input.

import { el, uniqueId } from './dom.js';

/** @typedef {(value: string) => string | null} Check returns an error message, or null */

/**
 * @typedef {Object} FieldOptions
 * @property {string} name the form and API field name
 * @property {string} label
 * @property {string} [type] input type, text unless told
 * @property {string} [autocomplete]
 * @property {string} [hint] shown under the label
 * @property {string} [value]
 * @property {number} [maxLength]
 * @property {boolean} [required] true unless told
 * @property {'none' | 'text' | 'email'} [inputMode]
 * @property {Check[]} [checks] run in order before submitting; the first message wins
 */

export class FormField extends HTMLElement {
  /** @type {HTMLInputElement} */
  #input = document.createElement('input');
  /** @type {HTMLParagraphElement} */
  #error = document.createElement('p');
  /** @type {string | null} */
  #hintId = null;
  /** @type {Check[]} */
  #checks = [];

  /**
   * @param {FieldOptions} options
   * @returns {FormField}
   */
  static create(options) {
    const field = new FormField();
    field.#build(options);
    return field;
  }

  /** @param {FieldOptions} options */
  #build({ name, label, type = 'text', autocomplete, hint, value, maxLength, required = true, inputMode, checks = [] }) {
    const inputId = uniqueId(`field-${name}`);
    this.#checks = checks;
    this.classList.add('field');

    const input = this.#input;
    input.id = inputId;
    input.name = name;
    input.type = type;
    input.required = required;
    if (autocomplete) input.autocomplete = /** @type {AutoFill} */ (autocomplete);
    if (maxLength !== undefined) input.maxLength = maxLength;
    if (inputMode) input.inputMode = inputMode;
    if (type === 'email' || type === 'password') input.spellcheck = false;
    if (value !== undefined) input.value = value;

    /** @type {HTMLElement[]} */
    const parts = [el('label', { for: inputId }, label)];
    if (hint) {
      this.#hintId = `${inputId}-hint`;
      parts.push(el('p', { class: 'field-hint', id: this.#hintId }, hint));
    }
    this.#error.id = `${inputId}-error`;
    this.#error.className = 'field-error';
    this.#error.hidden = true;
    this.replaceChildren(...parts, input, this.#error);
    this.#describe();

    // Once the person edits the field, an old complaint no longer applies.
    input.addEventListener('input', () => this.clearError());
  }

  get name() {
    return this.#input.name;
  }

  get input() {
    return this.#input;
  }

  get value() {
    return this.#input.value;
  }

  set value(value) {
    this.#input.value = value;
  }

  /**
   * Runs the checks and shows the first failure.
   * @returns {boolean} whether the value passed
   */
  validate() {
    for (const check of this.#checks) {
      const message = check(this.value);
      if (message !== null) {
        this.showError(message);
        return false;
      }
    }
    this.clearError();
    return true;
  }

  /** @param {string} message */
  showError(message) {
    this.#error.textContent = message;
    this.#error.hidden = false;
    this.#input.setAttribute('aria-invalid', 'true');
    this.#describe();
  }

  clearError() {
    this.#error.textContent = '';
    this.#error.hidden = true;
    this.#input.removeAttribute('aria-invalid');
    this.#describe();
  }

  get invalid() {
    return !this.#error.hidden;
  }

  focus() {
    this.#input.focus();
  }

  #describe() {
    const ids = [this.#hintId, this.#error.hidden ? null : this.#error.id].filter(Boolean);
    if (ids.length > 0) this.#input.setAttribute('aria-describedby', ids.join(' '));
    else this.#input.removeAttribute('aria-describedby');
  }
}

customElements.define('parley-field', FormField);
