// What the messenger's browser tests share: launching Debian's Chromium,
// people signed up through the API in their own browser contexts, pages
// that fail the test on script errors, and a small PNG made on the spot.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const baseURL = process.env.PARLEY_URL;
export const screenshotDir = process.env.PARLEY_SCREENSHOTS;
export const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

export const launchArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export const password = 'correct horse battery';

/**
 * @param {string[]} [extraArgs] more Chromium flags (calls add fake media)
 * @returns {Promise<import('playwright-core').Browser>}
 */
export function launch(extraArgs = []) {
  return chromium.launch({ executablePath, args: [...launchArgs, ...extraArgs], headless: true });
}

/**
 * Chromium's stand-ins for cameras, microphones and a screen to share,
 * granted without asking, and sound that may play without a click. Of its
 * three fake cameras the second (fake_device_1) sends depth pictures (Y16)
 * that no video encoder takes; the third (MJPEG) works like the first.
 */
export const fakeMediaArgs = [
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream=device-count=3',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * Polls check until it returns a truthy value, or fails with what after
 * the deadline: tests wait for conditions, never for fixed times.
 * @template T
 * @param {string} what
 * @param {() => Promise<T> | T} check
 * @param {number} [timeoutMs]
 * @returns {Promise<T>}
 */
export async function eventually(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let people = 0;

/**
 * A name and email nobody has signed up with, in this run or an earlier one.
 * @param {string} first
 */
export function newPerson(first) {
  people += 1;
  const id = `${Date.now().toString(36)}${process.pid.toString(36)}${people}`;
  return { name: `${first} ${id}`, email: `msg-${id}@example.test`, password };
}

/**
 * Console messages a page may log without failing a test: answers the
 * app handles (401 before signing in) and the browser's own words about a
 * WebSocket that cannot connect (the tests take the network away).
 * @param {string} text
 */
function expectedConsoleError(text) {
  return text.startsWith('Failed to load resource')
    || text.startsWith('WebSocket connection to')
    || text.includes('WebSocket is closed before the connection is established');
}

/**
 * A person with their own browser context, signed up through the API, and
 * a page. Script errors, console errors and alert() fail the test.
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Browser} browser
 * @param {string} first the first name
 * @param {import('playwright-core').BrowserContextOptions} [options]
 */
export async function signedUp(t, browser, first, options = {}) {
  const context = await browser.newContext({ baseURL, locale: 'en-US', viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(10_000);
  const person = newPerson(first);
  const response = await context.request.post('/api/v1/auth/signup', {
    data: { email: person.email, name: person.name, password: person.password },
  });
  assert.equal(response.status(), 201, await response.text());
  const user = await response.json();
  const page = await context.newPage();
  const problems = watch(page);
  t.after(async () => {
    await context.close();
    assert.deepEqual(problems, [], `${first}'s page logged errors`);
  });
  return { context, page, user, problems, name: person.name, email: person.email };
}

/**
 * Collects what would mean the page is broken.
 * @param {import('playwright-core').Page} page
 * @returns {string[]}
 */
export function watch(page) {
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !expectedConsoleError(message.text())) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.type()} ${dialog.message()}`);
    void dialog.dismiss();
  });
  return problems;
}

/**
 * Calls the API in a person's cookie jar.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} method
 * @param {string} path under /api/v1
 * @param {unknown} [data]
 */
export async function api(context, method, path, data) {
  const response = await context.request.fetch(`/api/v1${path}`, { method, data });
  assert.ok(response.ok(), `${method} ${path}: ${response.status()} ${await response.text()}`);
  return response.status() === 204 ? undefined : response.json();
}

/**
 * The direct conversation between two people, made by the first.
 * @param {{ context: import('playwright-core').BrowserContext }} from
 * @param {{ user: { id: string } }} to
 * @returns {Promise<{ id: string }>}
 */
export function direct(from, to) {
  return api(from.context, 'POST', '/conversations', { kind: 'direct', user_id: to.user.id });
}

let clientIds = 0;

/**
 * Sends a message through the REST API, as a device other than the page.
 * @param {{ context: import('playwright-core').BrowserContext }} from
 * @param {string} conversationId
 * @param {string} body
 */
export function sendViaApi(from, conversationId, body) {
  clientIds += 1;
  return api(from.context, 'POST', `/conversations/${conversationId}/messages`, {
    client_id: `test-${process.pid}-${Date.now()}-${clientIds}`, body,
  });
}

/**
 * Every message of a conversation, oldest first, as the API has them.
 * @param {{ context: import('playwright-core').BrowserContext }} as
 * @param {string} conversationId
 */
export async function storedMessages(as, conversationId) {
  const page = await api(as.context, 'GET', `/conversations/${conversationId}/messages?limit=1000`);
  return page.items;
}

/** Waits until the messenger on page is connected and caught up. */
export async function online(page) {
  await page.locator('.messenger[data-connection="online"]').waitFor();
}

/**
 * The composer of the open conversation.
 * @param {import('playwright-core').Page} page
 */
export function composer(page) {
  return page.getByRole('textbox', { name: 'Message', exact: true });
}

/**
 * Types and sends a message from the composer.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
export async function send(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/**
 * The list item of the message whose text is exactly text (not a quote of it).
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
export function message(page, text) {
  return page.locator('.message-list > li.message').filter({
    has: page.locator('.bubble > .message-text').getByText(text, { exact: true }),
  });
}

/** A PNG of width × height pixels (a sunrise gradient), made with zlib. */
export function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (/** @type {Buffer} */ bytes) => {
    let crc = 0xffffffff;
    for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
    return (crc ^ 0xffffffff) >>> 0;
  };
  const chunk = (/** @type {string} */ type, /** @type {Buffer} */ data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // RGB
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const at = row + 1 + x * 3;
      rows[at] = 255 - Math.round((y / height) * 120);
      rows[at + 1] = 120 + Math.round((x / width) * 100);
      rows[at + 2] = 60 + Math.round((y / height) * 160);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** @param {import('playwright-core').Page} page */
export async function assertNoSidewaysScroll(page) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `page is ${scrollWidth}px wide in a ${clientWidth}px window`);
}

/** @type {Promise<string> | undefined} */
let axeSource;

/**
 * Runs axe-core (from node_modules, put into the page by the test, never
 * served by the app) over the page as it is, and fails on serious or
 * critical violations, naming each with the elements concerned.
 * @param {import('playwright-core').Page} page
 * @param {string} label what is on screen, for the failure message
 * @param {{ exclude?: string[] }} [options] selectors left out of the audit
 */
export async function audit(page, label, { exclude = [] } = {}) {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol: the page's CSP does not apply.
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async (excluded) => {
    const axe = /** @type {any} */ (window).axe;
    const result = await axe.run({ exclude: excluded.map((selector) => [selector]) }, {
      resultTypes: ['violations', 'passes'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    if (result.passes.length === 0) return ['axe-core checked nothing'];
    return result.violations
      .filter((/** @type {any} */ v) => v.impact === 'serious' || v.impact === 'critical')
      .map((/** @type {any} */ v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map((/** @type {any} */ n) => `${n.target.join(' ')} ${n.failureSummary ?? ''}`.replace(/\s+/g, ' ')).join(' | ')}`);
  }, exclude);
  assert.deepEqual(violations, [], `accessibility of ${label}`);
}
