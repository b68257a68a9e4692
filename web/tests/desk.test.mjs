// The help desk in the browser: a customer on a shop's page (another
// origin: the shop is served from localhost, Parley from 127.0.0.1) presses
// the widget's Help button; an agent accepts in the console (/desk); the
// customer shares a screen (Chromium's fake capture) and the agent
// receives it and no camera; the agent's stroke shows over the customer's
// own preview; the session ends, the customer rates it 5, the agent wraps
// up, and the queue's report counts one answered session rated 5. A shop
// whose origin is not on the queue's allowlist gets nothing usable.
//
// Then the follow-ups: a cold transfer from agent A to agent B in a video
// session (the customer's call goes on, B receives the customer's screen);
// a chat-channel session, chosen in the widget, with no RTCPeerConnection
// on either side; a booked callback offered as a work item; and the
// manager's webhooks, whose delivery log shows a failed attempt.
//
// Queues and agents need a desk manager: the test's first account must be
// the server's first (an admin), as with `go test ./web` on a fresh server,
// unless PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD name one.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { baseURL, eventually, fakeMediaArgs, launch, screenshotDir, signedUp, watch } from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {http.Server} */
let shop;
/** The shop's origin: another host than Parley's. */
let shopOrigin = '';
/** @type {import('playwright-core').APIRequestContext} */
let admin;
/** @type {import('playwright-core').BrowserContext} */
let adminContext;
/** The queue the first test answered a session in. */
let answeredQueue = { id: '', key: '', name: '' };

/** What the transfer test saw of the customer's screen on agent B. */
let transferredScreen = 'not run';

/** The page a shop serves, with Parley's widget on it. */
let shopPage = '';

before(async () => {
  browser = await launch(fakeMediaArgs);
  shop = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(shopPage);
  });
  await new Promise((resolve) => shop.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = /** @type {import('node:net').AddressInfo} */ (shop.address());
  // localhost and 127.0.0.1 are different origins for the browser.
  shopOrigin = `http://localhost:${address.port}`;

  adminContext = await browser.newContext({ baseURL, locale: 'en-US', viewport: { width: 1280, height: 800 } });
  admin = adminContext.request;
  const email = process.env.PARLEY_ADMIN_EMAIL;
  if (email) {
    const r = await admin.post('/api/v1/auth/login', { data: { email, password: process.env.PARLEY_ADMIN_PASSWORD } });
    assert.ok(r.ok(), `admin sign-in: ${r.status()} ${await r.text()}`);
  } else {
    const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
    const r = await admin.post('/api/v1/auth/signup', { data: { email: `desk-admin-${id}@example.test`, name: 'Desk Admin', password: 'correct horse battery' } });
    assert.equal(r.status(), 201, await r.text());
  }
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (shop ? shop.close(() => resolve(undefined)) : resolve(undefined)));
});

/**
 * Calls the API as the admin.
 * @param {string} method
 * @param {string} url under /api/v1
 * @param {unknown} [data]
 */
async function asAdmin(method, url, data) {
  const r = await admin.fetch(`/api/v1${url}`, { method, data });
  assert.ok(r.ok(), `${method} ${url}: ${r.status()} ${await r.text()}`);
  return r.status() === 204 ? undefined : r.json();
}

/** Open every day, all day, in UTC. */
function allDay() {
  const weekly = {};
  for (const day of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']) {
    weekly[day] = [{ open: '00:00', close: '24:00' }];
  }
  return { time_zone: 'UTC', weekly };
}

let queues = 0;

/**
 * A queue whose widget may be used from origins.
 * @param {string[]} origins
 */
async function queue(origins) {
  queues += 1;
  const key = `phones-${Date.now().toString(36)}-${queues}`;
  return asAdmin('POST', '/desk/queues', {
    key, name: `Phones ${queues}`, channels: ['video', 'chat'], hours: allDay(), origins, when_closed: 'none',
  });
}

/** Runs before the app or the shop's page: the media debug hooks, and a count of camera requests. */
function initScript() {
  localStorage.setItem('parley.debug', 'calls');
  const w = /** @type {any} */ (window);
  w.__cameraRequests = 0;
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) => {
    if (constraints && constraints.video) w.__cameraRequests += 1;
    return original(constraints);
  };
}

/** Runs before a page: counts the RTCPeerConnections it makes. */
function countPeerConnections() {
  const w = /** @type {any} */ (window);
  w.__peerConnections = 0;
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    /** @param {RTCConfiguration} [config] */
    constructor(config) {
      super(config);
      w.__peerConnections += 1;
    }
  };
}

/**
 * A queue with these channels, its widget allowed on the shop.
 * @param {string[]} channels
 * @param {string} [whenClosed]
 */
async function queueWith(channels, whenClosed = 'none') {
  queues += 1;
  const key = `desk-${Date.now().toString(36)}-${queues}`;
  return asAdmin('POST', '/desk/queues', {
    key, name: `Queue ${queues}`, channels, hours: allDay(), origins: [shopOrigin], when_closed: whenClosed,
  });
}

/**
 * An agent of the queue, in the console; available unless told.
 * @param {import('node:test').TestContext} t
 * @param {string} name
 * @param {string} queueId
 * @param {{ manager?: boolean, available?: boolean, init?: (() => void)[] }} [options]
 */
async function deskAgent(t, name, queueId, { manager = false, available = true, init = [initScript] } = {}) {
  const agent = await signedUp(t, browser, name);
  for (const script of init) await agent.context.addInitScript(script);
  await asAdmin('PUT', `/desk/agents/${agent.user.id}`, { queues: [queueId], skills: {}, max_chats: 1, manager });
  await agent.page.goto('/desk');
  await agent.page.getByRole('heading', { name: 'Help desk', level: 1 }).waitFor();
  if (available) await goAvailable(agent.page);
  return agent;
}

/** @param {import('playwright-core').Page} page */
async function goAvailable(page) {
  await page.getByLabel('Status').selectOption('available');
  await page.getByText('You are available. Offers will ring here.').waitFor();
}

/**
 * A customer on the shop's page.
 * @param {import('node:test').TestContext} t
 * @param {(() => void)[]} [init]
 */
async function shopper(t, init = [initScript]) {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000);
  for (const script of init) await context.addInitScript(script);
  t.after(() => context.close());
  const page = await context.newPage();
  const problems = watch(page);
  await page.goto(`${shopOrigin}/`);
  return { page, problems };
}

/** @param {string} key */
function shopHTML(key) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>The shop</h1><p>Phones for sale.</p>
<script type="module" src="${baseURL}/widget.js" data-queue="${key}"></script></body></html>`;
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} which 'desk' (the agent) or 'help' (the customer)
 */
function inboundVideo(page, which) {
  return page.evaluate((name) => {
    const media = /** @type {any} */ (window)[name];
    return media ? media.inboundVideo() : [];
  }, which === 'desk' ? '__parleyDesk' : '__parleyHelp');
}

/**
 * @param {import('playwright-core').Page} page
 * @param {import('playwright-core').Locator} canvas
 */
async function drag(page, canvas) {
  await canvas.waitFor();
  const box = await eventually('the canvas to have a size', async () => {
    const b = await canvas.boundingBox();
    return b && b.width > 20 && b.height > 20 ? b : null;
  });
  const y = box.y + box.height * 0.4;
  await page.mouse.move(box.x + box.width * 0.2, y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * (0.2 + i * 0.05), y + i * 2);
  await page.mouse.up();
}

/** @param {import('playwright-core').Locator} canvas */
function paintedPixels(canvas) {
  return canvas.evaluate((node) => {
    const c = /** @type {HTMLCanvasElement} */ (node);
    const data = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n += 1;
    return n;
  });
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function screenshots(page, name) {
  await mkdir(screenshotDir, { recursive: true });
  for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
    await page.emulateMedia({ colorScheme });
    for (const [size, viewport] of /** @type {const} */ ([['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]])) {
      await page.setViewportSize(viewport);
      await page.screenshot({ path: path.join(screenshotDir, `${name}-${colorScheme}-${size}.png`) });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

describe('help desk', () => {
  test('a customer on another site gets help: screen shared, no camera, drawings, rating, report', async (t) => {
    const me = await asAdmin('GET', '/me');
    assert.equal(me.role, 'admin', 'the desk test needs an admin: run it on a fresh server or set PARLEY_ADMIN_EMAIL');
    const q = await queue([shopOrigin]);
    shopPage = shopHTML(q.key);

    // The agent: made an agent of the queue, signed in to the console, available.
    const agent = await signedUp(t, browser, 'Agent');
    await agent.context.addInitScript(initScript);
    await asAdmin('PUT', `/desk/agents/${agent.user.id}`, { queues: [q.key], skills: {}, max_chats: 1 });
    await agent.page.goto('/desk');
    await agent.page.getByRole('heading', { name: 'Help desk', level: 1 }).waitFor();
    await agent.page.getByLabel('Status').selectOption('available');
    await agent.page.getByText('You are available. Offers will ring here.').waitFor();

    // The customer, on the shop's page.
    const customerContext = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    customerContext.setDefaultTimeout(10_000);
    await customerContext.addInitScript(initScript);
    t.after(() => customerContext.close());
    const customer = await customerContext.newPage();
    const problems = watch(customer);
    await customer.goto(`${shopOrigin}/`);
    const help = customer.getByRole('button', { name: 'Help', exact: true });
    await help.click();
    await customer.getByLabel('Your name').fill('Cara Customer');
    await customer.getByRole('button', { name: 'Ask for help' }).click();

    // The offer rings in the console: a guest, the queue, the shop's page.
    const offer = agent.page.locator('.desk-offer');
    await offer.getByRole('heading', { name: 'Cara Customer' }).waitFor();
    await offer.getByText('Guest', { exact: true }).waitFor();
    await offer.getByText(q.name, { exact: true }).waitFor();
    await offer.getByText(`${shopOrigin}/`).waitFor();
    await offer.getByRole('timer').waitFor();
    if (screenshotDir) await screenshots(agent.page, 'desk-offer');
    await offer.getByRole('button', { name: 'Accept' }).click();
    await agent.page.getByRole('heading', { name: 'Session with Cara Customer' }).waitFor();

    // The customer's call: the agent's camera, and "Share screen".
    await customer.getByRole('button', { name: 'Share screen' }).click();
    await customer.locator('parley-help .own-screen[data-video="on"]').waitFor();

    // The agent receives exactly one video, the screen, and decodes it.
    const decoded = async () => {
      const inbound = await inboundVideo(agent.page, 'desk');
      return inbound.length === 1 && inbound[0].trackId.endsWith(':screen') ? inbound[0].framesDecoded : 0;
    };
    const first = await eventually('the agent to decode the customer\'s screen', decoded, 30_000);
    await eventually(`the agent's decoded frames to grow past ${first}`, async () => (await decoded()) > first, 20_000);
    const inbound = await inboundVideo(agent.page, 'desk');
    assert.equal(inbound.length, 1, `the agent receives one video: ${JSON.stringify(inbound)}`);
    assert.match(inbound[0].trackId, /:screen$/);
    // The customer sees the agent's camera, and never asked for one.
    await eventually('the customer to decode the agent\'s camera', async () => {
      const v = await inboundVideo(customer, 'help');
      return v.some((s) => s.trackId.endsWith(':camera') && s.framesDecoded > 0);
    }, 30_000);
    assert.equal(await customer.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0, 'the customer\'s page asked for a camera');

    // The agent draws; the stroke shows over the customer's own screen.
    const agentCanvas = agent.page.locator('.desk-screen canvas.annotation-layer.is-drawable');
    const customerCanvas = customer.locator('parley-help .own-screen canvas.annotation-layer');
    await drag(agent.page, agentCanvas);
    await eventually('the stroke on the customer\'s screen', async () => await customerCanvas.getAttribute('data-strokes') === '1');
    await eventually('the stroke\'s pixels on the customer\'s screen', () => paintedPixels(customerCanvas).then((n) => n > 50));

    // A word in the chat, both ways.
    await customer.getByRole('textbox', { name: 'Type a message' }).fill('My phone will not charge');
    await customer.getByRole('button', { name: 'Send', exact: true }).click();
    await agent.page.locator('.desk-chat-log').getByText('My phone will not charge').waitFor();
    await agent.page.getByRole('textbox', { name: 'Message to the customer' }).fill('Try the other cable');
    await agent.page.getByRole('button', { name: 'Send', exact: true }).click();
    await customer.locator('parley-help .chat-log').getByText('Try the other cable').waitFor();

    if (screenshotDir) {
      await screenshots(agent.page, 'desk-console');
      await screenshots(customer, 'desk-widget');
    }

    // The agent ends the session; the customer rates it 5.
    await agent.page.getByRole('textbox', { name: 'Private notes' }).fill('Cable fault');
    await agent.page.getByRole('button', { name: 'End session' }).click();
    await agent.page.getByRole('heading', { name: 'Wrap up the session with Cara Customer' }).waitFor();
    await customer.getByRole('heading', { name: 'How did we do?' }).waitFor();
    if (screenshotDir) await screenshots(customer, 'desk-rating');
    await customer.getByLabel('5 of 5').check();
    await customer.getByLabel('Comment (optional)').fill('Quick and kind');
    await customer.getByRole('button', { name: 'Send rating' }).click();
    await customer.getByText('Thank you for your feedback.').waitFor();

    await agent.page.getByLabel('Reason').selectOption('resolved');
    await agent.page.getByRole('button', { name: 'Finish wrap-up' }).click();
    await agent.page.getByRole('heading', { name: /Wrap up/ }).waitFor({ state: 'detached' });

    // The report counts one answered session, rated 5.
    const report = await asAdmin('GET', `/desk/queues/${q.id}/report`);
    const day = report.days.find((/** @type {any} */ d) => d.answered > 0);
    assert.ok(day, `a day with an answered session: ${JSON.stringify(report)}`);
    assert.equal(day.offered, 1);
    assert.equal(day.answered, 1);
    assert.equal(day.ratings, 1);
    assert.equal(day.csat, 5);
    assert.deepEqual(problems, [], 'the shop\'s page logged errors');
    answeredQueue = q;
  });

  test('the kiosk: one large Help button, its location sent, and it resets itself', async (t) => {
    const q = await queue([]);
    const agent = await signedUp(t, browser, 'Kiosk agent');
    await asAdmin('PUT', `/desk/agents/${agent.user.id}`, { queues: [q.id], skills: {}, max_chats: 1 });
    await agent.page.goto('/desk');
    await agent.page.getByLabel('Status').selectOption('available');
    await agent.page.getByText('You are available. Offers will ring here.').waitFor();

    const context = await browser.newContext({ baseURL, locale: 'en-US', viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const kiosk = await context.newPage();
    const problems = watch(kiosk);
    await kiosk.goto(`/kiosk/${encodeURIComponent('Store 12')}?queue=${q.key}&idle=2`);
    await kiosk.getByRole('heading', { name: 'Need help?' }).waitFor();
    await kiosk.getByText('Store 12', { exact: true }).waitFor();
    // A customer at the kiosk is offered help, not a way into accounts.
    assert.equal(await kiosk.getByRole('link', { name: 'Sign in' }).count(), 0);
    const help = kiosk.getByRole('button', { name: 'Help', exact: true });
    if (screenshotDir) {
      await help.waitFor();
      await screenshots(kiosk, 'desk-kiosk');
    }
    // Left alone half-way, it goes back to the button.
    await help.click();
    await kiosk.getByLabel('Your name').waitFor();
    await help.waitFor({ timeout: 15_000 });

    await help.click();
    await kiosk.getByLabel('Your name').fill('Kim Walk-in');
    await kiosk.getByRole('button', { name: 'Ask for help' }).click();
    const offer = agent.page.locator('.desk-offer');
    await offer.getByRole('heading', { name: 'Kim Walk-in' }).waitFor();
    await offer.getByText('Store 12', { exact: true }).waitFor();
    await offer.getByRole('button', { name: 'Decline' }).click();
    // The customer gives up; the kiosk is ready for the next one.
    await kiosk.getByRole('button', { name: 'Cancel' }).click();
    await help.waitFor();
    assert.deepEqual(problems, [], 'the kiosk logged errors');
  });

  test('the manager: wallboard, report with CSV, staffing', async () => {
    assert.ok(answeredQueue.id, 'the first test answered a session');
    const page = await adminContext.newPage();
    const problems = watch(page);
    await page.goto('/desk/manage');
    await page.getByRole('heading', { name: 'Help desk: manage' }).waitFor();
    const card = page.getByRole('region', { name: answeredQueue.name, exact: true });
    await card.getByText('Answered today').waitFor();
    await page.getByLabel('Queue', { exact: true }).selectOption(answeredQueue.id);
    const row = page.locator('.desk-table tbody tr').first();
    await eventually('the report row', async () => (await row.locator('td').nth(2).textContent().catch(() => '')) === '1');
    const href = await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href');
    assert.match(href ?? '', /format=csv/);
    const csv = await admin.get(href ?? '');
    assert.equal(csv.status(), 200);
    const lines = (await csv.text()).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1], new RegExp(`^${answeredQueue.key},`));

    await page.getByRole('button', { name: 'Calculate' }).click();
    await page.getByText(/agents: service level/).waitFor();
    if (screenshotDir) await screenshots(page, 'desk-manage');
    await page.close();
    assert.deepEqual(problems, [], 'the manager\'s page logged errors');
  });

  test('a cold transfer: the customer keeps the call, the next agent joins it', async (t) => {
    const q = await queueWith(['video', 'voice', 'chat']);
    shopPage = shopHTML(q.key);
    // A manager may transfer to a named agent; B is offline until then.
    const a = await deskAgent(t, 'Ada', q.id, { manager: true });
    const b = await deskAgent(t, 'Ben', q.id, { available: false });

    const { page: customer, problems } = await shopper(t);
    await customer.getByRole('button', { name: 'Help', exact: true }).click();
    await customer.getByLabel('Your name').fill('Tess Transfer');
    // Three channels: the customer chooses; video is the first.
    const video = customer.getByRole('radio', { name: /Video call/ });
    assert.ok(await video.isChecked(), 'video is chosen first');
    await customer.getByRole('radio', { name: /Voice call/ }).waitFor();
    await customer.getByRole('radio', { name: /^Chat/ }).waitFor();
    await customer.getByRole('button', { name: 'Ask for help' }).click();

    await a.page.locator('.desk-offer').getByRole('button', { name: 'Accept' }).click();
    await a.page.getByRole('heading', { name: 'Session with Tess Transfer' }).waitFor();
    await customer.getByRole('button', { name: 'Share screen' }).click();
    await customer.locator('parley-help .own-screen[data-video="on"]').waitFor();
    await eventually('agent A to decode the screen', async () => (await inboundVideo(a.page, 'desk')).some((v) => v.trackId.endsWith(':screen') && v.framesDecoded > 0), 30_000);
    const cameraOfA = await eventually('the customer to decode A\'s camera', async () => {
      const v = await inboundVideo(customer, 'help');
      return v.find((s) => s.trackId.endsWith(':camera') && s.framesDecoded > 0)?.trackId;
    }, 30_000);
    const callId = await customer.evaluate(() => /** @type {any} */ (window).__parleyHelp.callId);
    assert.ok(callId);

    // B becomes available; A hands the session to B, cold.
    await goAvailable(b.page);
    await a.page.getByRole('textbox', { name: 'Private notes' }).fill('Screen flickers; B knows displays');
    await a.page.getByRole('button', { name: 'Transfer…' }).click();
    await a.page.getByRole('radio', { name: 'An agent' }).check();
    await a.page.getByLabel('Agent', { exact: true }).selectOption(b.user.id);
    assert.ok(await a.page.getByRole('radio', { name: /^Cold/ }).isChecked(), 'cold is the default');
    if (screenshotDir) await screenshots(a.page, 'desk-transfer');
    await a.page.getByRole('button', { name: 'Transfer', exact: true }).click();
    await a.page.getByRole('heading', { name: 'Tess Transfer was transferred' }).waitFor();
    await a.page.getByRole('heading', { name: 'Session with Tess Transfer' }).waitFor({ state: 'detached' });

    // B's offer says it is a transfer; B joins the same call as its helper.
    const offer = b.page.locator('.desk-offer');
    await offer.getByText('Transferred', { exact: true }).waitFor();
    await offer.getByRole('button', { name: 'Accept' }).click();
    await b.page.getByRole('heading', { name: 'Session with Tess Transfer' }).waitFor();
    assert.equal(await b.page.getByRole('textbox', { name: 'Private notes' }).inputValue(), 'Screen flickers; B knows displays');
    assert.equal(await b.page.evaluate(() => /** @type {any} */ (window).__parleyDesk.callId), callId, 'B joined the call that goes on');

    // B decodes the customer's screen, and more frames keep coming: recorded
    // here and asserted in the test that follows.
    const decoded = async () => {
      const inbound = await inboundVideo(b.page, 'desk');
      return inbound.length === 1 && inbound[0].trackId.endsWith(':screen') ? inbound[0].framesDecoded : 0;
    };
    transferredScreen = await eventually('B to decode the customer\'s screen', decoded, 20_000)
      .then((first) => eventually(`B's decoded frames to grow past ${first}`, async () => (await decoded()) > first, 20_000))
      .then(() => 'decoded')
      .catch(async () => `not decoded: B's inbound video ${JSON.stringify(await inboundVideo(b.page, 'desk'))}, `
        + `B's subscribe transport ${JSON.stringify(await b.page.evaluate(async () => {
          const report = await /** @type {any} */ (window).__parleyDesk.connections().subscribe.getStats();
          /** @type {any[]} */
          const out = [];
          report.forEach((/** @type {any} */ s) => {
            if (s.type === 'transport' || s.type === 'inbound-rtp') out.push({ type: s.type, kind: s.kind, packets: s.packetsReceived, bytes: s.bytesReceived });
          });
          return out;
        }))}`);

    // The customer never left the call: same call, same media, B's camera now.
    assert.equal(await customer.locator('parley-help').getAttribute('data-state'), 'call');
    assert.equal(await customer.evaluate(() => /** @type {any} */ (window).__parleyHelp.callId), callId);
    await customer.locator('parley-help .own-screen[data-video="on"]').waitFor();
    await eventually('the customer to decode B\'s camera', async () => {
      const v = await inboundVideo(customer, 'help');
      return v.some((s) => s.trackId.endsWith(':camera') && s.trackId !== cameraOfA && s.framesDecoded > 0);
    }, 30_000);
    await customer.getByRole('heading', { name: `Help from ${b.name}` }).waitFor();
    assert.equal(await customer.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0, 'the customer\'s page asked for a camera');
    if (screenshotDir) await screenshots(customer, 'desk-widget-transferred');

    // A is ready again; B ends; the customer rates.
    await a.page.getByRole('button', { name: 'Ready for the next customer' }).click();
    await a.page.getByText('You are available. Offers will ring here.').waitFor();
    await b.page.getByRole('button', { name: 'End session' }).click();
    await b.page.getByRole('heading', { name: 'Wrap up the session with Tess Transfer' }).waitFor();
    await customer.getByRole('heading', { name: 'How did we do?' }).waitFor();
    assert.deepEqual(problems, [], 'the shop\'s page logged errors');
  });

  test('after a cold transfer agent B decodes the customer\'s screen', () => {
    assert.equal(transferredScreen, 'decoded');
  });

  test('a chat: chosen in the widget, messages both ways, no call on either side', async (t) => {
    const q = await queueWith(['video', 'voice', 'chat']);
    shopPage = shopHTML(q.key);
    const agent = await deskAgent(t, 'Cleo', q.id, { init: [initScript, countPeerConnections] });
    const { page: customer, problems } = await shopper(t, [initScript, countPeerConnections]);
    await customer.getByRole('button', { name: 'Help', exact: true }).click();
    await customer.getByLabel('Your name').fill('Chad Chat');
    await customer.getByRole('radio', { name: /^Chat/ }).check();
    if (screenshotDir) await screenshots(customer, 'desk-widget-channels');
    await customer.getByRole('button', { name: 'Ask for help' }).click();

    const offer = agent.page.locator('.desk-offer');
    await offer.getByText('Chat', { exact: true }).waitFor();
    await offer.getByRole('button', { name: 'Accept' }).click();
    await agent.page.getByRole('heading', { name: 'Session with Chad Chat' }).waitFor();
    await agent.page.locator('.desk-session[data-kind="chat"]').waitFor();

    await customer.locator('parley-help .panel.call[data-kind="chat"]').waitFor();
    await customer.getByRole('textbox', { name: 'Type a message' }).fill('Where is my order?');
    await customer.getByRole('button', { name: 'Send', exact: true }).click();
    await agent.page.locator('.desk-chat-log').getByText('Where is my order?').waitFor();
    await agent.page.getByRole('textbox', { name: 'Message to the customer' }).fill('It ships tomorrow');
    await agent.page.getByRole('button', { name: 'Send', exact: true }).click();
    await customer.locator('parley-help .chat-log').getByText('It ships tomorrow').waitFor();
    if (screenshotDir) {
      await screenshots(agent.page, 'desk-console-chat');
      await screenshots(customer, 'desk-widget-chat');
    }
    // No media anywhere: no Share screen, no peer connection, no camera.
    assert.equal(await customer.getByRole('button', { name: 'Share screen' }).count(), 0);
    assert.equal(await customer.evaluate(() => /** @type {any} */ (window).__peerConnections), 0, 'the customer made a peer connection');
    assert.equal(await agent.page.evaluate(() => /** @type {any} */ (window).__peerConnections), 0, 'the agent made a peer connection');
    assert.equal(await agent.page.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0, 'the agent asked for a camera');

    await customer.getByRole('button', { name: 'End', exact: true }).click();
    await customer.getByRole('heading', { name: 'How did we do?' }).waitFor();
    await agent.page.getByRole('heading', { name: 'Wrap up the session with Chad Chat' }).waitFor();
    assert.equal(await customer.evaluate(() => /** @type {any} */ (window).__peerConnections), 0);
    assert.deepEqual(problems, [], 'the shop\'s page logged errors');
  });

  test('a booked callback becomes a work item: offered with the contact, notes and End', async (t) => {
    const q = await queueWith(['chat'], 'callback');
    const agent = await deskAgent(t, 'Cal', q.id, { available: false });
    // Booked through the API (the widget's form posts the same); the queue
    // is open, so it joins the line at once.
    const booked = await asAdmin('POST', '/desk/requests', { queue: q.key, channel: 'chat', name: 'Rita Ringback', callback: { contact: '+1 555 0100' } });
    assert.equal(booked.status, 'callback');
    await agent.page.getByLabel('Status').selectOption('available');
    const offer = agent.page.locator('.desk-offer');
    await offer.getByText('Callback', { exact: true }).waitFor();
    await offer.getByText('Call back: +1 555 0100').waitFor();
    if (screenshotDir) await screenshots(agent.page, 'desk-callback-offer');
    await offer.getByRole('button', { name: 'Accept' }).click();
    const session = agent.page.locator('.desk-session[data-kind="callback"]');
    await session.waitFor();
    assert.equal(await session.getByRole('link', { name: '+1 555 0100' }).getAttribute('href'), 'tel:+15550100');
    assert.equal(await session.getByRole('textbox', { name: 'Message to the customer' }).count(), 0, 'a callback has no chat');
    await agent.page.getByRole('textbox', { name: 'Private notes' }).fill('Called back, resolved');
    await agent.page.getByRole('button', { name: 'End session' }).click();
    await agent.page.getByRole('heading', { name: 'Wrap up the session with Rita Ringback' }).waitFor();
    assert.equal(await agent.page.getByLabel('Notes', { exact: true }).inputValue(), 'Called back, resolved');
  });

  test('the manager: webhooks added, the secret shown once, the delivery log, deleted', async () => {
    // An address nothing listens on: a port the system gave and took back.
    const closed = http.createServer();
    await new Promise((resolve) => closed.listen(0, '127.0.0.1', () => resolve(undefined)));
    const port = /** @type {import('node:net').AddressInfo} */ (closed.address()).port;
    await new Promise((resolve) => closed.close(() => resolve(undefined)));
    const url = `http://127.0.0.1:${port}/parley-hook`;

    const page = await adminContext.newPage();
    const problems = watch(page);
    await page.goto('/desk/manage');
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByLabel('URL', { exact: true }).fill(url);
    await page.getByLabel('csat.submitted').uncheck();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = page.getByLabel(/The signing secret of/);
    await secret.waitFor();
    assert.match(await secret.inputValue(), /^whsec_/);
    const card = page.getByRole('article', { name: url });
    await card.getByText('request.created, request.answered, request.abandoned, session.ended').waitFor();

    // An event for it: a callback booked on a queue that takes them.
    const q = await queueWith(['chat'], 'callback');
    await asAdmin('POST', '/desk/requests', { queue: q.key, channel: 'chat', name: 'Hook Trigger', callback: { contact: 'hook@example.test' } });
    await card.getByRole('button', { name: 'Delivery log' }).click();
    const row = card.locator('tbody tr').filter({ hasText: 'request.created' });
    // The delivery loop runs every second; the log is read again every few.
    await eventually('the failed attempt in the delivery log', async () => await row.getAttribute('data-state').catch(() => null) === 'retrying', 20_000);
    await row.getByText('Failed, will retry').waitFor();
    assert.equal((await row.locator('td').nth(2).textContent())?.trim(), '1');
    assert.match(await row.locator('td').nth(3).textContent() ?? '', /refused|connect/i);
    if (screenshotDir) await screenshots(page, 'desk-webhooks');

    // A reload shows no secret; delete asks first.
    await page.reload();
    await card.waitFor();
    assert.equal(await page.getByLabel(/The signing secret of/).count(), 0);
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Keep' }).click();
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('group').getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    const left = await asAdmin('GET', '/desk/webhooks');
    assert.equal(left.items.filter((/** @type {any} */ w) => w.url === url).length, 0);
    await page.close();
    assert.deepEqual(problems, [], 'the manager\'s page logged errors');
  });

  test('a site not on the allowlist gets no widget, and the API answers 403', async (t) => {
    const q = await queue(['https://elsewhere.example']);
    shopPage = shopHTML(q.key);
    const context = await browser.newContext({ locale: 'en-US' });
    t.after(() => context.close());
    const page = await context.newPage();
    await page.goto(`${shopOrigin}/`);
    const help = page.locator('parley-help');
    await eventually('the widget to be refused', async () => await help.getAttribute('data-state') === 'denied');
    assert.equal(await page.getByRole('button').count(), 0, 'a button shows');
    const answers = await page.evaluate(async ([base, key]) => {
      const status = await fetch(`${base}/api/v1/desk/queues/${key}/status`);
      const open = await fetch(`${base}/api/v1/desk/requests`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ queue: key, name: 'Mallory' }),
      });
      return [status.status, open.status];
    }, [baseURL, q.key]);
    assert.deepEqual(answers, [403, 403]);
  });
});
