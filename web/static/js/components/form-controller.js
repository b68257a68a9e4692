// What every form of the app does on submit: check the fields, keep the
// button from being pressed twice, and show the API's answer when it fails,
// with field errors next to their fields.

import { ApiError } from '../api.js';
import { FormField } from './form-field.js';
import { Notice } from './notice.js';

/** @typedef {import('../i18n.js').I18n} I18n */

/**
 * @typedef {Object} FormOptions
 * @property {HTMLFormElement} form
 * @property {FormField[]} fields
 * @property {Notice} notice where form-wide errors go
 * @property {I18n} i18n
 * @property {(values: Record<string, string>) => Promise<void>} submit
 *   sends the values; throws ApiError on failure
 * @property {(error: unknown) => boolean} [intercept]
 *   may take an error over (a session that ended); true when it did
 */

/**
 * Wires a form. Submitting runs the field checks, then options.submit.
 * @param {FormOptions} options
 */
export function handleForm({ form, fields, notice, i18n, submit, intercept }) {
  form.noValidate = true; // the fields' own checks speak the app's language
  let busy = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    notice.clear();
    const invalid = fields.filter((field) => !field.validate());
    if (invalid.length > 0) {
      invalid[0].focus();
      return;
    }
    /** @type {Record<string, string>} */
    const values = {};
    for (const field of fields) values[field.name] = field.value;

    // The buttons stay enabled: disabling the pressed one would drop the
    // keyboard focus. The busy flag ignores a second press instead.
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await submit(values);
    } catch (error) {
      if (!intercept?.(error)) showError(error, { fields, notice, i18n });
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  });
}

/**
 * Shows a failed request: field errors next to their fields (focusing the
 * first), and the rest in the notice.
 * @param {unknown} error
 * @param {{ fields?: FormField[], notice: Notice, i18n: I18n }} target
 */
export function showError(error, { fields = [], notice, i18n }) {
  const lines = [describeError(error, i18n)];
  if (error instanceof ApiError) {
    /** @type {FormField | null} */
    let first = null;
    for (const { field, detail } of error.fieldErrors) {
      const match = fields.find((candidate) => candidate.name === field);
      if (match) {
        match.showError(sentence(detail));
        first ??= match;
      } else {
        lines.push(`${field}: ${detail}`);
      }
    }
    first?.focus();
  }
  notice.show(...lines);
}

/**
 * One sentence saying what went wrong, in the reader's language where the
 * app knows the case, else in the server's words.
 * @param {unknown} error
 * @param {I18n} i18n
 * @returns {string}
 */
export function describeError(error, i18n) {
  if (!(error instanceof ApiError)) {
    console.error(error);
    return i18n.t('error.unexpected', { status: '?' });
  }
  if (error.status === 0) return i18n.t('error.network');
  if (error.status === 429) {
    if (error.retryAfter === null) return i18n.t('error.rateLimitedSoon');
    if (error.retryAfter <= 1) return i18n.t('error.rateLimitedOne');
    return i18n.t('error.rateLimited', { seconds: error.retryAfter });
  }
  const { problem } = error;
  if (problem.type?.endsWith(':validation') && error.fieldErrors.length > 0) return i18n.t('error.fixFields');
  const text = sentence(problem.detail || problem.title || '');
  if (!text) return i18n.t('error.unexpected', { status: error.status });
  return error.status >= 500 && problem.request_id ? `${text} (${problem.request_id})` : text;
}

/**
 * The server writes details as clauses ("wrong email or password"); shown
 * alone they read better as sentences.
 * @param {string} text
 * @returns {string}
 */
function sentence(text) {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?。]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}
