// <parley-language-picker>: the language switcher. The choice is kept by
// I18n (in localStorage) and every view redraws in the new language.

import { el, uniqueId } from './dom.js';
import { locales } from '../i18n.js';

/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../i18n.js').Locale} Locale */

export class LanguagePicker extends HTMLElement {
  /** @type {I18n | null} */
  #i18n = null;
  /** @type {(() => void) | null} */
  #unsubscribe = null;
  /** @type {HTMLLabelElement} */
  #label = el('label');
  /** @type {HTMLSelectElement} */
  #select = el('select');

  /**
   * @param {I18n} i18n
   * @returns {LanguagePicker}
   */
  static create(i18n) {
    const picker = new LanguagePicker();
    picker.#i18n = i18n;
    const id = uniqueId('language');
    picker.#select.id = id;
    picker.#label.htmlFor = id;
    for (const { code, name } of locales) {
      // Each language is named in itself, and marked so, for screen readers.
      picker.#select.append(el('option', { value: code, lang: code }, name));
    }
    picker.#select.addEventListener('change', () => {
      const code = locales.find((locale) => locale.code === picker.#select.value)?.code;
      if (code) i18n.setLocale(code);
    });
    picker.classList.add('language-picker');
    picker.replaceChildren(picker.#label, picker.#select);
    return picker;
  }

  connectedCallback() {
    const i18n = this.#i18n;
    if (!i18n) return;
    this.#update();
    this.#unsubscribe = i18n.onChange(() => this.#update());
  }

  disconnectedCallback() {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  #update() {
    if (!this.#i18n) return;
    this.#label.textContent = this.#i18n.t('app.language');
    this.#select.value = this.#i18n.locale;
  }
}

customElements.define('parley-language-picker', LanguagePicker);
