// The signed-in person's menu in the page header: the messenger, the
// account screen and signing out.

import { el } from './dom.js';
import { avatar } from './avatar.js';
import { icon } from './icon.js';
import { popoverMenu } from './popover-menu.js';

/** @typedef {import('../i18n.js').I18n} I18n */
/** @typedef {import('../api.js').User} User */

/**
 * @param {{ i18n: I18n, user: User, signOut: () => void, desk?: () => boolean }} options
 *   desk: whether the help desk's console is for this person (an agent)
 * @returns {HTMLElement}
 */
export function userMenu({ i18n, user, signOut, desk }) {
  const { element } = popoverMenu({
    label: user.name,
    labelVisible: true,
    buttonClass: 'user-menu-button',
    panelClass: 'user-menu',
    buttonContent: [avatar({ id: user.id, name: user.name, size: 'small' }), el('span', { class: 'user-menu-name' }, user.name)],
    items: () => {
      const signOutButton = el('button', { type: 'button', class: 'menu-item' }, i18n.t('account.signOut'));
      signOutButton.addEventListener('click', signOut);
      return [
        el('a', { href: '/', class: 'menu-item' }, icon('send'), i18n.t('menu.messages')),
        el('a', { href: '/account', class: 'menu-item' }, icon('user'), i18n.t('menu.account')),
        ...(desk?.() ? [el('a', { href: '/desk', class: 'menu-item' }, icon('help'), i18n.t('menu.desk'))] : []),
        signOutButton,
      ];
    },
  });
  element.classList.add('user-menu-host');
  return element;
}
