// Updates a list in place from data: an item whose content did not change
// keeps its element, so images do not reload, scroll positions hold and
// the keyboard focus stays where it was. An item that changed is redrawn,
// and the focus moves to the matching control (data-focus) in its new
// element.

/**
 * @typedef {Object} KeyedItem
 * @property {string} key unique in the list
 * @property {string} signature changes whenever the drawing would
 * @property {() => HTMLElement} render
 */

/**
 * @param {HTMLElement} parent its children are the items' elements
 * @param {KeyedItem[]} items in order
 */
export function updateKeyedList(parent, items) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const child of Array.from(parent.children)) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined) existing.set(child.dataset.key, child);
    else child.remove();
  }
  let cursor = parent.firstElementChild;
  for (const item of items) {
    let node = existing.get(item.key);
    existing.delete(item.key);
    if (node && node.dataset.signature !== item.signature) {
      const fresh = draw(item);
      const focusKey = focusedKey(node);
      if (cursor === node) cursor = fresh;
      node.replaceWith(fresh);
      if (focusKey !== null) restoreFocus(fresh, focusKey);
      node = fresh;
    } else if (!node) {
      node = draw(item);
    }
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
    } else {
      parent.insertBefore(node, cursor);
    }
  }
  for (const stale of existing.values()) stale.remove();
}

/**
 * @param {KeyedItem} item
 * @returns {HTMLElement}
 */
function draw(item) {
  const node = item.render();
  node.dataset.key = item.key;
  node.dataset.signature = item.signature;
  return node;
}

/**
 * The data-focus name of the control that has the focus inside node, ''
 * for node itself or an unnamed control, or null when the focus is
 * elsewhere.
 * @param {HTMLElement} node
 * @returns {string | null}
 */
function focusedKey(node) {
  const active = document.activeElement;
  if (!active || !node.contains(active)) return null;
  return active instanceof HTMLElement ? active.dataset.focus ?? '' : '';
}

/**
 * @param {HTMLElement} node
 * @param {string} key
 */
function restoreFocus(node, key) {
  const target = key ? node.querySelector(`[data-focus="${CSS.escape(key)}"]`) : null;
  if (target instanceof HTMLElement) target.focus();
  else if (node.tabIndex >= 0) node.focus();
}
