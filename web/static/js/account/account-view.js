// The signed-in screen: who you are, your sessions, your password and
// your API tokens, reached from the menu in the page header.

import { el } from '../components/dom.js';
import { Notice } from '../components/notice.js';
import { showError } from '../components/form-controller.js';
import { sessionsSection } from './sessions.js';
import { passwordSection } from './password.js';
import { tokensSection } from './tokens.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/** @typedef {import('../app.js').View} View */

/**
 * @param {ViewContext} ctx
 * @returns {View}
 */
export function accountView(ctx) {
  const { i18n, user } = ctx;
  if (!user) throw new Error('accountView: nobody is signed in');
  const roleKey = `role.${user.role}`;
  const role = i18n.has(roleKey) ? i18n.t(roleKey) : user.role;

  const errors = Notice.create('error');
  const signOut = el('button', { type: 'button', class: 'button-secondary' }, i18n.t('account.signOut'));
  signOut.addEventListener('click', async () => {
    errors.clear();
    try {
      await ctx.signOut();
    } catch (error) {
      showError(error, { notice: errors, i18n });
    }
  });

  const sessions = sessionsSection(ctx);
  const tokens = tokensSection(ctx);
  const password = passwordSection(ctx, { onChanged: () => void sessions.reload() });
  void sessions.reload();
  void tokens.reload();

  const element = el('div', { class: 'account' },
    el('section', { class: 'card', 'aria-labelledby': 'account-title' },
      el('div', { class: 'account-header' },
        el('div', {},
          el('h1', { id: 'account-title', tabindex: -1 }, i18n.t('account.title')),
          el('p', { class: 'signed-in-as' }, i18n.t('account.signedInAs', { name: user.name, role }))),
        signOut),
      errors,
      el('p', {}, el('a', { href: '/' }, i18n.t('account.backToMessages')))),
    sessions.element,
    password,
    tokens.element);
  return { element, title: i18n.t('account.title') };
}
