// A modal <dialog>: the page behind it is inert, Escape closes it, and the
// focus returns to where it was. It is removed from the page once closed.

import { el } from './dom.js';

/** @typedef {import('./dom.js').Child} Child */

/**
 * @typedef {Object} ModalOptions
 * @property {string} labelledBy the id of the dialog's heading
 * @property {Child[]} content
 * @property {string} [className]
 * @property {HTMLElement} [initialFocus]
 * @property {() => void} [onClose]
 */

/**
 * @param {ModalOptions} options
 * @returns {{ dialog: HTMLDialogElement, close: () => void }}
 */
export function openModal({ labelledBy, content, className = '', initialFocus, onClose }) {
  const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const dialog = el('dialog', { class: `modal ${className}`.trim(), 'aria-labelledby': labelledBy }, ...content);
  document.body.append(dialog);
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
    if (returnFocus?.isConnected) returnFocus.focus();
  });
  // A click on the backdrop (the dialog element itself, outside its
  // content box) closes it, as people expect of a modal.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right
      && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) dialog.close();
  });
  dialog.showModal();
  initialFocus?.focus();
  return { dialog, close: () => dialog.close() };
}
