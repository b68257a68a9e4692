// Checks for form fields, run before a request so that the person hears
// about a mistake at once. The server checks again and has the last word.

/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('./form-field.js').Check} Check */

/** Password length, counted in characters (code points) as the server does. */
export const passwordMin = 10;
export const passwordMax = 256;

/**
 * @param {I18n} i18n
 * @returns {Check}
 */
export function required(i18n) {
  return (value) => (value.trim() === '' ? i18n.t('validation.required') : null);
}

/**
 * A light check of an address's form; the server decides what it accepts.
 * @param {I18n} i18n
 * @returns {Check}
 */
export function email(i18n) {
  return (value) => (/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.trim()) ? null : i18n.t('validation.email'));
}

/**
 * @param {I18n} i18n
 * @returns {Check}
 */
export function passwordLength(i18n) {
  return (value) => {
    const length = [...value].length;
    return length >= passwordMin && length <= passwordMax
      ? null
      : i18n.t('validation.passwordLength', { count: length });
  };
}

/**
 * @param {I18n} i18n
 * @param {number} max characters
 * @returns {Check}
 */
export function maxLength(i18n, max) {
  return (value) => ([...value].length <= max ? null : i18n.t('validation.tooLong', { max }));
}
