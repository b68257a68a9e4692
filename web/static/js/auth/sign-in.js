// The sign-in screen.

import { el } from '../components/dom.js';
import { FormField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { handleForm } from '../components/form-controller.js';
import * as checks from '../components/checks.js';
import { authLinkQuery, flashNotice } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function signInView(ctx) {
  const { i18n, api } = ctx;
  const email = FormField.create({
    name: 'email',
    label: i18n.t('auth.email'),
    type: 'email',
    autocomplete: 'username',
    inputMode: 'email',
    maxLength: 254,
    checks: [checks.required(i18n), checks.email(i18n)],
  });
  const password = FormField.create({
    name: 'password',
    label: i18n.t('auth.password'),
    type: 'password',
    autocomplete: 'current-password',
    // No length rule here: an account made under older rules must still
    // be able to sign in.
    checks: [checks.required(i18n)],
  });
  const errors = Notice.create('error');
  const form = el('form', { class: 'stack', 'aria-labelledby': 'signin-title' },
    errors, email, password,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('auth.signIn.submit')));

  handleForm({
    form,
    fields: [email, password],
    notice: errors,
    i18n,
    submit: async (values) => {
      const user = await api.login({ email: values.email, password: values.password });
      ctx.signedIn(user);
    },
  });

  const signupOpen = ctx.config.signup_mode !== 'closed';
  const footer = signupOpen
    ? el('p', { class: 'switch' }, i18n.t('auth.signIn.noAccount'), ' ',
      el('a', { href: `/signup${authLinkQuery(ctx.query)}` }, i18n.t('auth.signIn.toSignUp')))
    : el('p', { class: 'switch' }, i18n.t('auth.signIn.closed'));

  const element = el('section', { class: 'card auth' },
    el('h1', { id: 'signin-title', tabindex: -1 }, i18n.t('auth.signIn.title')),
    el('p', { class: 'lead' }, i18n.t('auth.signIn.intro')),
    flashNotice(ctx),
    form,
    footer);
  return { element, title: i18n.t('auth.signIn.title') };
}
