// Changing the account's password.

import { el, uniqueId } from '../components/dom.js';
import { FormField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { handleForm } from '../components/form-controller.js';
import * as checks from '../components/checks.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */

/**
 * @param {ViewContext} ctx
 * @param {{ onChanged: () => void }} hooks onChanged runs after a change
 *   (the server may end the account's other sessions)
 * @returns {HTMLElement}
 */
export function passwordSection(ctx, { onChanged }) {
  const { i18n, api } = ctx;
  const titleId = uniqueId('password');
  const current = FormField.create({
    name: 'current_password',
    label: i18n.t('password.current'),
    type: 'password',
    autocomplete: 'current-password',
    checks: [checks.required(i18n)],
  });
  const next = FormField.create({
    name: 'new_password',
    label: i18n.t('password.new'),
    type: 'password',
    autocomplete: 'new-password',
    hint: i18n.t('auth.passwordHint'),
    maxLength: checks.passwordMax,
    checks: [checks.required(i18n), checks.passwordLength(i18n)],
  });
  const status = Notice.create('success');
  const errors = Notice.create('error');
  const form = el('form', { class: 'stack', 'aria-labelledby': titleId },
    errors, current, next,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('password.submit')));

  handleForm({
    form,
    fields: [current, next],
    notice: errors,
    i18n,
    intercept: (error) => ctx.intercept(error),
    submit: async (values) => {
      status.clear();
      await api.changePassword({ current_password: values.current_password, new_password: values.new_password });
      form.reset();
      status.show(i18n.t('password.changed'));
      onChanged();
    },
  });

  return el('section', { class: 'card', 'aria-labelledby': titleId },
    el('h2', { id: titleId }, i18n.t('password.title')),
    status, form);
}
