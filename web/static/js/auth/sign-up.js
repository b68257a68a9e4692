// The create-account screen. In invite mode it asks for the invite code,
// taken from ?invite= when the person followed an invitation link.

import { el } from '../components/dom.js';
import { FormField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { handleForm } from '../components/form-controller.js';
import * as checks from '../components/checks.js';
import { authLinkQuery, flashNotice } from './shared.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

/** The longest name the server takes. */
const nameMax = 100;

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function signUpView(ctx) {
  const { i18n, api } = ctx;
  const name = FormField.create({
    name: 'name',
    label: i18n.t('auth.name'),
    autocomplete: 'name',
    maxLength: nameMax,
    checks: [checks.required(i18n), checks.maxLength(i18n, nameMax)],
  });
  const email = FormField.create({
    name: 'email',
    label: i18n.t('auth.email'),
    type: 'email',
    autocomplete: 'email',
    inputMode: 'email',
    maxLength: 254,
    checks: [checks.required(i18n), checks.email(i18n)],
  });
  const password = FormField.create({
    name: 'password',
    label: i18n.t('auth.password'),
    type: 'password',
    autocomplete: 'new-password',
    hint: i18n.t('auth.passwordHint'),
    maxLength: checks.passwordMax,
    checks: [checks.required(i18n), checks.passwordLength(i18n)],
  });
  const fields = [name, email, password];
  // The operator's own account, the installation's first, needs no invite.
  const inviteMode = ctx.config.signup_mode === 'invite' && !ctx.config.setup;
  if (inviteMode) {
    fields.push(FormField.create({
      name: 'invite',
      label: i18n.t('auth.invite'),
      autocomplete: 'off',
      hint: i18n.t('auth.inviteHint'),
      value: ctx.query.get('invite') ?? '',
      // Not required here: the very first account of an installation needs
      // no invite, and the server knows whether this is it.
      required: false,
    }));
  }

  const errors = Notice.create('error');
  const form = el('form', { class: 'stack', 'aria-labelledby': 'signup-title' },
    errors, ...fields,
    el('button', { type: 'submit', class: 'button-primary' }, i18n.t('auth.signUp.submit')));

  handleForm({
    form,
    fields,
    notice: errors,
    i18n,
    submit: async (values) => {
      /** @type {{ email: string, name: string, password: string, invite?: string }} */
      const input = { email: values.email, name: values.name, password: values.password };
      // The server rejects unknown fields, so invite goes only when asked for.
      if (inviteMode) input.invite = values.invite.trim();
      await api.signup(input);
      // Signing up starts a session. Asking who is signed in confirms that
      // the cookie took, and a server that leaves signing in to the client
      // still works.
      const user = (await api.me()) ?? (await api.login({ email: input.email, password: input.password }));
      ctx.signedIn(user);
    },
  });

  const element = el('section', { class: 'card auth' },
    el('h1', { id: 'signup-title', tabindex: -1 }, i18n.t('auth.signUp.title')),
    el('p', { class: 'lead' }, i18n.t(ctx.config.setup ? 'auth.signUp.setupIntro' : 'auth.signUp.intro')),
    flashNotice(ctx),
    form,
    ctx.config.setup ? null : el('p', { class: 'switch' }, i18n.t('auth.signUp.haveAccount'), ' ',
      el('a', { href: `/signin${authLinkQuery(ctx.query)}` }, i18n.t('auth.signUp.toSignIn'))));
  return { element, title: i18n.t('auth.signUp.title') };
}
