// Asks before something that cannot be undone, in a modal <dialog> that
// traps focus and closes with Escape.

import { el, uniqueId } from './dom.js';

/**
 * @typedef {Object} ConfirmOptions
 * @property {string} message the question
 * @property {string} confirm the button that goes ahead, named for the action
 * @property {string} cancel
 */

/**
 * @param {ConfirmOptions} options
 * @returns {Promise<boolean>} whether the person went ahead
 */
export function confirmAction({ message, confirm, cancel }) {
  const messageId = uniqueId('confirm');
  const cancelButton = el('button', { type: 'button', class: 'button-secondary' }, cancel);
  const confirmButton = el('button', { type: 'button', class: 'button-danger' }, confirm);
  const dialog = el('dialog', { class: 'confirm-dialog', 'aria-labelledby': messageId },
    el('p', { id: messageId }, message),
    el('div', { class: 'actions' }, cancelButton, confirmButton));
  document.body.append(dialog);

  return new Promise((resolve) => {
    let answer = false;
    cancelButton.addEventListener('click', () => dialog.close());
    confirmButton.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
    // The safe choice has the focus, so a stray Enter does no harm.
    cancelButton.focus();
  });
}
