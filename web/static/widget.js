// Parley's help widget for other sites. One tag puts a "Help" button on a
// page:
//
//   <script type="module" src="https://parley.example/widget.js"
//           data-queue="phones"></script>
//
// Attributes (all but data-queue optional):
//   data-queue               the queue's key (required)
//   data-identity-user       the site's id for its signed-in user …
//   data-identity-name       … their name (then no name is asked for) …
//   data-identity-signature  … and hex HMAC-SHA256 of the id under the
//                            queue's widget secret, made by the site's
//                            server (a wrong one is shown to the agent
//                            as "not verified")
//   data-position            bottom-right (default) or bottom-left
//   data-colour              the button's colour, any CSS colour
//   data-label               the button's text instead of "Help"
//   data-lang                en or ko (default: the page's language, then
//                            the browser's)
//
// The button lives in a shadow DOM (<parley-help>), so the page's styles
// do not reach it; a page may still place or hide it with
// `parley-help { … }` and style the parts ::part(button), ::part(panel).
// The site's origin must be on the queue's allowlist: anywhere else the
// widget shows nothing. Modules and the stylesheet come from Parley, which
// serves them to any origin (CORS); the API is called without cookies.

import './js/desk/help-widget.js';

const here = new URL(import.meta.url).href;
const scripts = [...document.querySelectorAll('script[src]')].filter((script) =>
  new URL(script.getAttribute('src') ?? '', location.href).href === here && !script.hasAttribute('data-parley-mounted'));

for (const script of scripts) {
  script.setAttribute('data-parley-mounted', '');
  const data = /** @type {HTMLScriptElement} */ (script).dataset;
  const help = document.createElement('parley-help');
  /** @type {[string, string | undefined][]} */
  const attributes = [
    ['queue', data.queue], ['identity-user', data.identityUser], ['identity-name', data.identityName],
    ['identity-signature', data.identitySignature], ['position', data.position],
    ['colour', data.colour ?? data.color], ['label', data.label], ['lang', data.lang],
  ];
  for (const [name, value] of attributes) if (value) help.setAttribute(name, value);
  document.body.append(help);
}
