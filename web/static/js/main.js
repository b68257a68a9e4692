// Starts Parley's web app: builds the API client and the translator and
// hands the page to the App. Nothing here is global; each part gets what it
// needs.

import { Api } from './api.js';
import { I18n } from './i18n.js';
import { App } from './app.js';

/** @returns {Storage | null} */
function localStorageIfAllowed() {
  try {
    return window.localStorage;
  } catch {
    // Blocked storage (some privacy settings) throws on access.
    return null;
  }
}

const main = document.getElementById('main');
if (!main) throw new Error('index.html lacks <main id="main">');

const storage = localStorageIfAllowed();
const i18n = new I18n({
  storage,
  preferred: navigator.languages.length > 0 ? navigator.languages : [navigator.language],
});
const app = new App({
  api: new Api(),
  i18n,
  main,
  header: document.getElementById('header-tools'),
  footer: document.getElementById('footer'),
  storage,
});
void app.start();
