// Building DOM nodes. Text always becomes text nodes, so content from the
// server or the user can never turn into markup.

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * Creates an element with attributes and children. A true attribute is set
 * empty, a false or undefined one is left out. Event-handler and style
 * attributes are refused: the Content-Security-Policy forbids them.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | undefined>} [attributes]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (/^on|^style$/i.test(name)) throw new Error(`el: attribute ${name} is not allowed`);
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, ...children);
  return element;
}

/**
 * Appends children, strings as text.
 * @param {Element | DocumentFragment} parent
 * @param {...Child} children
 */
export function append(parent, ...children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/**
 * Replaces all children of parent.
 * @param {Element} parent
 * @param {...Child} children
 */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  append(parent, ...children);
}

let lastId = 0;

/**
 * An id unique in the document, for label, aria-describedby and the like.
 * @param {string} prefix
 * @returns {string}
 */
export function uniqueId(prefix) {
  lastId += 1;
  return `${prefix}-${lastId}`;
}
