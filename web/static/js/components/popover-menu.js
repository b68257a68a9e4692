// A button that opens a small panel of actions next to it. The panel is a
// native popover: it closes on Escape and on a click elsewhere, and the
// focus goes back to the button. Arrow keys move between the actions.

import { el, uniqueId } from './dom.js';

/** @typedef {import('./dom.js').Child} Child */

/**
 * @typedef {Object} PopoverMenuOptions
 * @property {string} label the button's accessible name
 * @property {Child[]} buttonContent what the button shows (an icon, a name)
 * @property {() => HTMLElement[]} items built each time the panel opens
 * @property {string} [buttonClass]
 * @property {string} [panelClass]
 * @property {string} [focusKey] the button's data-focus, for keyed lists
 * @property {boolean} [labelVisible] the content names the button, so no aria-label
 */

/**
 * @param {PopoverMenuOptions} options
 * @returns {{ element: HTMLElement, button: HTMLButtonElement, panel: HTMLElement }}
 */
export function popoverMenu({ label, buttonContent, items, buttonClass = 'icon-button', panelClass = '', focusKey, labelVisible = false }) {
  const panelId = uniqueId('menu');
  const panel = el('div', { id: panelId, class: `popover-panel ${panelClass}`.trim(), popover: 'auto', role: 'group', 'aria-label': label });
  const button = el('button', {
    type: 'button',
    class: buttonClass,
    popovertarget: panelId,
    'aria-label': labelVisible ? undefined : label,
    title: labelVisible ? undefined : label,
    'data-focus': focusKey,
  }, ...buttonContent);

  panel.addEventListener('toggle', (event) => {
    if (!(event instanceof ToggleEvent) || event.newState !== 'open') return;
    panel.replaceChildren(...items());
    place(panel, button);
    focusables(panel)[0]?.focus();
  });
  // An action, once chosen, closes the panel (after its own handler ran).
  panel.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('button, a') : null;
    if (target && panel.contains(target)) panel.hidePopover();
  });
  panel.addEventListener('keydown', (event) => {
    const keys = ['ArrowDown', 'ArrowRight', 'ArrowUp', 'ArrowLeft', 'Home', 'End'];
    if (!keys.includes(event.key)) return;
    const all = focusables(panel);
    if (all.length === 0) return;
    const index = all.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    let next = index;
    if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = all.length - 1;
    else if (event.key === 'ArrowDown' || event.key === 'ArrowRight') next = (index + 1) % all.length;
    else next = (index - 1 + all.length) % all.length;
    all[next].focus();
    event.preventDefault();
  });
  window.addEventListener('resize', () => {
    if (panel.matches(':popover-open')) panel.hidePopover();
  });

  const element = el('span', { class: 'popover-menu' }, button, panel);
  return { element, button, panel };
}

/**
 * @param {HTMLElement} panel
 * @returns {HTMLElement[]}
 */
function focusables(panel) {
  return /** @type {HTMLElement[]} */ (Array.from(panel.querySelectorAll('button:not([disabled]), a[href]')));
}

/**
 * Puts the panel under the button (over it when there is no room below),
 * kept inside the window. Set through the CSSOM, which the CSP allows.
 * @param {HTMLElement} panel
 * @param {HTMLElement} button
 */
function place(panel, button) {
  const margin = 8;
  const anchor = button.getBoundingClientRect();
  const { width, height } = panel.getBoundingClientRect();
  const viewportWidth = document.documentElement.clientWidth;
  const viewportHeight = document.documentElement.clientHeight;
  let top = anchor.bottom + 4;
  if (top + height > viewportHeight - margin && anchor.top - height - 4 > margin) top = anchor.top - height - 4;
  let left = anchor.right - width;
  left = Math.max(margin, Math.min(left, viewportWidth - width - margin));
  panel.style.top = `${Math.max(margin, top)}px`;
  panel.style.left = `${left}px`;
}
