// Line icons drawn as SVG from path data, without markup strings. Icons
// are decoration: the control around one carries the accessible name.

const svgNS = 'http://www.w3.org/2000/svg';

/** Path data on a 24×24 grid, stroked with the current text colour. */
const paths = /** @type {const} */ ({
  send: 'M4 12 20 4l-4 16-4-7zM12 13l8-9',
  attach: 'M20 11.5 12.3 19.2a5 5 0 0 1-7.1-7.1l8.5-8.5a3.4 3.4 0 0 1 4.8 4.8l-8.3 8.3a1.8 1.8 0 0 1-2.6-2.6L15.3 6.4',
  phone: 'M6.5 3.5h3l1.5 4.5-2 1.5a11 11 0 0 0 5.5 5.5l1.5-2 4.5 1.5v3a2 2 0 0 1-2 2A16.5 16.5 0 0 1 4.5 5.5a2 2 0 0 1 2-2z',
  video: 'M3.5 6.5h11v11h-11zM14.5 10.5l6-3.5v10l-6-3.5',
  back: 'M15 5l-7 7 7 7',
  plus: 'M12 5v14M5 12h14',
  search: 'M10.5 4a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM15.5 15.5 20 20',
  bell: 'M6 16.5V11a6 6 0 0 1 12 0v5.5l1.5 1.5h-15zM10 20.5a2.2 2.2 0 0 0 4 0',
  more: 'M5.5 12h.01M12 12h.01M18.5 12h.01',
  smile: 'M12 3.5a8.5 8.5 0 1 0 0 17 8.5 8.5 0 0 0 0-17zM8.5 14a4 4 0 0 0 7 0M9 9.5h.01M15 9.5h.01',
  reply: 'M9.5 14.5 4.5 9.5l5-5M4.5 9.5H14a5.5 5.5 0 0 1 5.5 5.5v4',
  edit: 'M15.5 4.5l4 4L9 19l-5 1 1-5z',
  trash: 'M4.5 7h15M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13',
  close: 'M6 6l12 12M18 6 6 18',
  file: 'M13.5 3.5H6.5v17h11V7.5zM13.5 3.5v4h4',
  check: 'M5 12.5l4.5 4.5L19 7.5',
  clock: 'M12 3.5a8.5 8.5 0 1 0 0 17 8.5 8.5 0 0 0 0-17zM12 7.5V12l3 2',
  alert: 'M12 3.5 2.5 20h19zM12 10v4.5M12 17.5h.01',
  user: 'M12 4a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM4.5 20.5a7.5 7.5 0 0 1 15 0',
  mic: 'M12 3.5a3 3 0 0 0-3 3v5a3 3 0 0 0 6 0v-5a3 3 0 0 0-3-3zM5.5 11.5a6.5 6.5 0 0 0 13 0M12 18v2.5',
  screen: 'M3.5 5h17v11h-17zM8.5 20h7M12 16v4',
  pause: 'M9 6v12M15 6v12',
  hangup: 'M3 14.5c5-4.7 13-4.7 18 0l-2.2 3-3.6-1.6v-2.6a9.5 9.5 0 0 0-6.4 0v2.6L5.2 17.5z',
  sliders: 'M4 7h9M17 7h3M4 17h3M11 17h9M15 5v4M9 15v4',
  pointer: 'M5 3.5l13.5 7.2-6.2 1.5-2.7 6.3z',
  undo: 'M9 14.5 4.5 10 9 5.5M4.5 10H15a4.5 4.5 0 0 1 0 9h-3',
  help: 'M12 3.5a8.5 8.5 0 1 0 0 17 8.5 8.5 0 0 0 0-17zM12 8.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7zM6 6l3.5 3.5M18 6l-3.5 3.5M6 18l3.5-3.5M18 18l-3.5-3.5',
});

/** @typedef {keyof typeof paths} IconName */

/**
 * @param {IconName} name
 * @param {string} [className] extra classes
 * @returns {SVGSVGElement}
 */
export function icon(name, className) {
  const svg = document.createElementNS(svgNS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '20');
  svg.setAttribute('height', '20');
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', name === 'more' ? '3' : '1.8');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', className ? `icon ${className}` : 'icon');
  const path = document.createElementNS(svgNS, 'path');
  path.setAttribute('d', paths[name]);
  svg.append(path);
  return svg;
}
