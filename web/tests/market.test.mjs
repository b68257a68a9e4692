// The marketplace in the browser, against a real server: a learner finds
// a per-minute listing by searching, starts a session now, meets the
// expert by video (each in their own browser context, with Chromium's fake
// camera and microphone through Parley's SFU), stays until the server's
// meter has billed two minutes, ends the session, pays exactly what the
// rules say for the server's billable seconds, and reviews it; the expert
// sees the earning after the 20 % commission. A learner with an empty
// wallet pressing "Start now" sees the payment problem and gets no session.
//
// The setup — the expert's application and its approval, the listing and
// its approval, the expert's availability, the wallet's top-up — goes
// through the API (the operator is the server's first account, from
// PARLEY_ADMIN_EMAIL and PARLEY_ADMIN_PASSWORD, or the first to sign up);
// the learner's journey is clicked.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { api, assertNoSidewaysScroll, audit, baseURL, eventually, fakeMediaArgs, launch, screenshotDir, signedUp, watch } from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('playwright-core').BrowserContext} */
let adminContext;

const price = 157; // US cents a minute: 2 minutes are 314, whose 20 % (62.8) rounds to 63
const startingWallet = 5000;

before(async () => {
  browser = await launch(fakeMediaArgs);
  adminContext = await browser.newContext({ baseURL, locale: 'en-US' });
  const email = process.env.PARLEY_ADMIN_EMAIL;
  if (email) {
    const r = await adminContext.request.post('/api/v1/auth/login', { data: { email, password: process.env.PARLEY_ADMIN_PASSWORD } });
    assert.ok(r.ok(), `admin sign-in: ${r.status()} ${await r.text()}`);
  } else {
    const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
    const r = await adminContext.request.post('/api/v1/auth/signup', { data: { email: `market-admin-${id}@example.test`, name: 'Market Admin', password: 'correct horse battery' } });
    assert.equal(r.status(), 201, await r.text());
  }
});

after(async () => {
  await adminContext?.close();
  await browser?.close();
});

/** Runs in every page before the app: the calls' debug hook, and a count of camera requests. */
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

/**
 * Someone signed up, ready for calls.
 * @param {import('node:test').TestContext} t
 * @param {string} first
 */
async function person(t, first) {
  const who = await signedUp(t, browser, first, { permissions: ['camera', 'microphone'] });
  who.context.setDefaultTimeout(30_000);
  await who.context.addInitScript(initScript);
  return who;
}

/**
 * The operator's API.
 * @param {string} method
 * @param {string} route
 * @param {unknown} [data]
 */
function admin(method, route, data) {
  return api(adminContext, method, route, data);
}

/**
 * An approved expert, available now, with an approved per-minute listing
 * that may start now.
 * @param {import('node:test').TestContext} t
 * @param {string} word a word only this listing's title has
 */
async function expertWithListing(t, word) {
  const expert = await person(t, 'Expert');
  await api(expert.context, 'POST', '/market/experts/apply', {
    headline: 'Home cook for twenty years', bio: 'I teach Korean home cooking.', languages: ['en', 'ko'],
    categories: ['cooking'], time_zone: 'UTC',
  });
  await admin('POST', `/market/experts/${expert.user.id}/approve`);
  await api(expert.context, 'PUT', '/market/experts/me/availability', {
    hours: { time_zone: 'UTC', weekly: {} }, buffer_minutes: 0, max_per_day: 8, available_now: true,
  });
  const listing = await api(expert.context, 'POST', '/market/listings', {
    title: `${word} kimchi, live`, description: 'We make kimchi together, step by step.', category: 'cooking', languages: ['en'],
    price_model: 'per_minute', price: { amount: price, currency: 'USD' }, min_billable_minutes: 1, session_minutes: null,
    cancellation: 'flexible', start_now: true,
  });
  await admin('POST', `/market/listings/${listing.id}/approve`);
  return { expert, listing };
}

/**
 * The frames of video this page has decoded so far.
 * @param {import('playwright-core').Page} page
 */
async function framesDecoded(page) {
  const streams = await page.evaluate(() => {
    const media = /** @type {any} */ (window).__parleyCalls;
    return media ? media.inboundVideo() : [];
  });
  return streams.reduce((/** @type {number} */ sum, /** @type {{ framesDecoded: number }} */ s) => sum + s.framesDecoded, 0);
}

/**
 * What a page's call media is doing, for a failure's message.
 * @param {import('playwright-core').Page} page
 */
function mediaState(page) {
  return page.evaluate(async () => {
    const media = /** @type {any} */ (window).__parleyCalls;
    if (!media) return 'no call media';
    const out = [media.state, JSON.stringify(media.inboundVideo())];
    for (const [name, pc] of Object.entries(media.connections())) {
      if (!pc) continue;
      out.push(name, /** @type {any} */ (pc).connectionState);
      (await /** @type {any} */ (pc).getStats()).forEach((/** @type {any} */ s) => {
        if (s.type === 'outbound-rtp' || s.type === 'inbound-rtp') {
          out.push(JSON.stringify({ type: s.type, kind: s.kind, mid: s.mid, packets: s.packetsSent ?? s.packetsReceived, frames: s.framesEncoded ?? s.framesDecoded }));
        }
      });
    }
    return out.join(' ');
  });
}

/**
 * A screen in light and dark, desktop and phone.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function screenshots(page, name) {
  if (!screenshotDir) return;
  await mkdir(screenshotDir, { recursive: true });
  for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
    await page.emulateMedia({ colorScheme });
    for (const [size, viewport] of /** @type {const} */ ([['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]])) {
      await page.setViewportSize(viewport);
      if (size === 'phone') await assertNoSidewaysScroll(page);
      await page.screenshot({ path: path.join(screenshotDir, `market-${name}-${colorScheme}-${size}.png`), fullPage: !name.startsWith('call') });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 800 });
}

/**
 * The amount (minor units) a balance field of the wallet screen shows.
 * @param {import('playwright-core').Page} page
 * @param {string} field wallet, held, payable, paid_out
 */
async function balance(page, field) {
  const cell = page.locator(`[data-balance="USD"] [data-field="${field}"]`);
  await cell.waitFor();
  return Number(await cell.getAttribute('data-amount'));
}

describe('marketplace', () => {
  test('a member applies in the dashboard (Health wants a licence), the operator asks for changes with a reason and tops up the wallet', async (t) => {
    const applicant = await signedUp(t, browser, 'Applicant');
    await applicant.page.goto('/market/expert');
    const form = applicant.page.getByRole('form', { name: 'Become an expert' });
    await form.getByRole('textbox', { name: 'Headline' }).fill('Nurse and nutrition coach');
    await form.getByRole('textbox', { name: 'About you' }).fill('Twelve years on the ward.');
    // A photo uploads at once and shows; a file that is no photo is refused.
    const onePixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    await form.getByLabel('Photo').setInputFiles({ name: 'page.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>') });
    await form.getByText('send a JPEG, PNG or WebP photo, or an MP4 or WebM video').waitFor();
    await form.getByLabel('Photo').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: onePixel });
    await form.getByText('Uploaded.').waitFor();
    await form.locator('.market-media-preview img').waitFor();
    await form.getByRole('checkbox', { name: 'Health' }).check();
    await form.getByRole('textbox', { name: 'Licence number' }).waitFor();
    await form.getByRole('button', { name: 'Apply' }).click();
    await form.getByText('licence_number: required for Health').waitFor();
    await form.getByRole('textbox', { name: 'Licence number' }).fill('RN-12345');
    await form.getByRole('textbox', { name: 'Licence jurisdiction' }).fill('Seoul');
    await form.getByRole('button', { name: 'Apply' }).click();
    await applicant.page.getByText('Waiting for review').first().waitFor();
    const mine = await applicant.page.evaluate(() => fetch('/api/v1/market/experts/me').then((r) => r.json()));
    assert.ok(mine.photo, 'the application carries the uploaded photo');

    const operator = await adminContext.newPage();
    const problems = watch(operator);
    t.after(async () => {
      await operator.close();
      assert.deepEqual(problems, [], 'the operator\'s page logged errors');
    });
    await operator.goto('/market/admin');
    const item = operator.locator(`[data-expert="${applicant.user.id}"]`);
    await item.getByText('RN-12345').waitFor();
    await item.getByRole('button', { name: 'Ask for changes' }).click();
    await item.getByText('Give a reason.').waitFor();
    await item.getByRole('textbox', { name: 'Reason' }).fill('Add a photo of your licence.');
    await item.getByRole('button', { name: 'Ask for changes' }).click();
    // It waits for the expert now, still in the list for a later decision.
    await item.locator('.badge').getByText('Changes requested').waitFor();
    assert.equal(await item.getByRole('button', { name: 'Ask for changes' }).count(), 0);
    await screenshots(operator, 'operator');

    await operator.getByRole('textbox', { name: 'Member' }).fill(applicant.email);
    await operator.getByRole('textbox', { name: 'Amount' }).fill('10.00');
    await operator.getByRole('button', { name: 'Top up', exact: true }).click();
    await operator.getByText(`$10.00 added to ${applicant.name}’s wallet.`).waitFor();

    await applicant.page.reload();
    await applicant.page.getByText('Changes requested').first().waitFor();
    await applicant.page.getByText('Add a photo of your licence.').waitFor();
    await applicant.page.getByRole('link', { name: 'Wallet', exact: true }).click();
    assert.equal(await balance(applicant.page, 'wallet'), 1000);
  });

  test('a learner with an empty wallet pressing "Start now" sees the payment problem, and no session is made', async (t) => {
    const word = `Broke${Date.now().toString(36)}`;
    const { listing } = await expertWithListing(t, word);
    const broke = await person(t, 'Broke');
    await broke.page.goto(`/market/listings/${listing.id}`);
    await broke.page.getByRole('heading', { level: 1, name: listing.title }).waitFor();
    await broke.page.getByText('$1.57 a minute, billed by the started minute, at least 1 minute').waitFor();
    await broke.page.getByRole('button', { name: 'Start now' }).click();
    const problem = broke.page.getByRole('alert').filter({ hasText: 'Your wallet does not cover this session.' });
    await problem.waitFor();
    await problem.getByText('Your wallet: $0.00.').waitFor();
    await problem.getByText('This session holds $23.55 before it starts (15 minutes at $1.57).').waitFor();
    assert.equal(new URL(broke.page.url()).pathname, `/market/listings/${listing.id}`);
    for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
      await broke.page.emulateMedia({ colorScheme });
      await audit(broke.page, `the listing with the payment problem (${colorScheme})`);
    }
    await broke.page.getByRole('link', { name: 'Browse', exact: true }).click();
    await broke.page.getByRole('heading', { level: 1, name: 'Find an expert' }).waitFor();
    await broke.page.locator('.market-card').first().waitFor();
    await audit(broke.page, 'browsing (dark)');
    const sessions = await api(broke.context, 'GET', '/market/sessions');
    assert.deepEqual(sessions.items, [], 'no session was made');
    const wallet = await api(broke.context, 'GET', '/billing/balance');
    assert.ok(wallet.items.every((/** @type {{ held: number }} */ b) => b.held === 0), 'nothing is held');
  });

  test('a learner finds a per-minute listing, starts now, meets the expert by video, pays exactly the billed minutes, and reviews; the expert sees the earning', async (t) => {
    const word = `Gochu${Date.now().toString(36)}`;
    const { expert, listing } = await expertWithListing(t, word);
    const learner = await person(t, 'Learner');
    await admin('POST', '/billing/topups', { user_id: learner.user.id, amount: { amount: startingWallet, currency: 'USD' }, note: 'test' });

    // The expert has the app open, so their devices ring.
    await expert.page.goto('/market/expert');
    await expert.page.getByRole('heading', { name: 'Expert dashboard' }).waitFor();

    // The learner's wallet before.
    await learner.page.goto('/');
    await learner.page.getByRole('link', { name: 'Marketplace', exact: true }).click();
    await learner.page.getByRole('heading', { level: 1, name: 'Find an expert' }).waitFor();
    await learner.page.getByRole('link', { name: 'Wallet', exact: true }).click();
    assert.equal(await balance(learner.page, 'wallet'), startingWallet);
    await screenshots(learner.page, 'wallet-before');

    // Search, find, open.
    await learner.page.getByRole('link', { name: 'Browse', exact: true }).click();
    await learner.page.getByRole('searchbox', { name: 'Search' }).fill(word.toLowerCase());
    await learner.page.getByRole('button', { name: 'Search', exact: true }).click();
    const card = learner.page.locator(`.market-card[data-listing="${listing.id}"]`);
    await card.waitFor();
    assert.equal(await learner.page.locator('.market-card').count(), 1, 'the search finds the one listing');
    await card.getByText('$1.57 / minute').waitFor();
    await card.getByText(`with ${expert.name}`).waitFor();
    await screenshots(learner.page, 'browse');
    await card.getByRole('link', { name: listing.title }).click();
    await learner.page.getByRole('heading', { level: 1, name: listing.title }).waitFor();
    await learner.page.getByText('$1.57 a minute, billed by the started minute, at least 1 minute').waitFor();
    await screenshots(learner.page, 'listing');

    // Start now: the learner joins the call with the camera off; the expert's devices ring.
    await learner.page.getByRole('button', { name: 'Start now' }).click();
    await learner.page.waitForURL(/\/market\/sessions\//);
    const sessionId = new URL(learner.page.url()).pathname.split('/').pop();
    await learner.page.locator('section.call-screen').waitFor();
    const ringing = expert.page.getByRole('dialog', { name: 'Incoming video call' });
    await ringing.waitFor();
    await ringing.getByRole('button', { name: 'Accept' }).click();
    await expert.page.locator('section.call-screen').waitFor();

    // The learner sees the expert's camera: decoded frames grow.
    const first = await eventually('the learner to decode the expert\'s video', async () => {
      const n = await framesDecoded(learner.page);
      return n > 0 ? n : 0;
    }, 45_000);
    try {
      await eventually('the learner\'s decoded frames to grow', async () => (await framesDecoded(learner.page)) > first, 30_000);
    } catch (error) {
      throw new Error(`${/** @type {Error} */ (error).message}: ${await mediaState(learner.page)} expert: ${await mediaState(expert.page)}`);
    }
    assert.equal(await learner.page.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0, 'the learner\'s camera stays off');

    // The meter shows in both call screens; the server bills two minutes.
    const meter = learner.page.locator(`section.call-screen .market-meter[data-session="${sessionId}"]`);
    await meter.waitFor();
    await expert.page.locator(`section.call-screen .market-meter[data-session="${sessionId}"]`).waitFor();
    await eventually('the server to bill more than a minute', async () => {
      const s = await api(learner.context, 'GET', `/market/sessions/${sessionId}`);
      return s.status === 'active' && s.billable_seconds >= 61;
    }, 150_000);
    await eventually('the meter to show more than a minute', async () => Number(await meter.getAttribute('data-billable')) >= 61, 10_000);
    await meter.getByText('$3.14').waitFor();
    await screenshots(learner.page, 'call');

    // End the session from the call screen.
    await meter.getByRole('button', { name: 'End session' }).click();
    await learner.page.locator('section.call-screen').waitFor({ state: 'detached' });
    const done = learner.page.locator('.market-session[data-status="completed"]');
    await done.waitFor();
    const session = await api(learner.context, 'GET', `/market/sessions/${sessionId}`);
    assert.equal(session.status, 'completed');
    assert.ok(session.billable_seconds >= 61, `billable ${session.billable_seconds}`);
    assert.equal(session.charged, Math.ceil(session.billable_seconds / 60) * price, 'charged = started minutes × price');
    const commission = Math.floor((session.charged * 2000 + 5000) / 10000);
    assert.equal(session.commission, commission, 'commission: 20 %, rounded half up');
    const dollars = (/** @type {number} */ cents) => `$${(cents / 100).toFixed(2)}`;
    assert.equal(await done.locator('[data-after="charged"]').textContent(), dollars(session.charged));
    await screenshots(learner.page, 'session');

    // The review, then on the listing page.
    const review = `Clear steps and great kimchi ${word}`;
    await learner.page.getByRole('radio', { name: '4 stars' }).check();
    await learner.page.getByRole('textbox', { name: 'Your review' }).fill(review);
    await learner.page.getByRole('button', { name: 'Post review' }).click();
    await learner.page.getByText('Thank you. Your review is on the listing.').waitFor();
    await learner.page.getByText('Money-back guarantee').waitFor();

    // The wallet dropped by exactly the charge, and nothing stays held.
    await learner.page.getByRole('link', { name: 'Wallet', exact: true }).click();
    assert.equal(await balance(learner.page, 'wallet'), startingWallet - session.charged, 'the wallet dropped by exactly the charge');
    assert.equal(await balance(learner.page, 'held'), 0);
    await learner.page.locator(`[data-session="${sessionId}"]`).getByText(`Paid ${dollars(session.charged)}`).waitFor();
    await screenshots(learner.page, 'wallet');

    await learner.page.getByRole('link', { name: 'Browse', exact: true }).click();
    await learner.page.getByRole('searchbox', { name: 'Search' }).fill(word.toLowerCase());
    await learner.page.getByRole('button', { name: 'Search', exact: true }).click();
    await learner.page.getByRole('link', { name: listing.title }).click();
    await learner.page.getByText(review).waitFor();
    await learner.page.getByText('4.0 out of 5 (1 review)').waitFor();

    // The expert lands on the session's summary and sees the earning.
    await expert.page.waitForURL(new RegExp(`/market/sessions/${sessionId}$`));
    const share = session.charged - commission;
    await expert.page.locator('[data-after="share"]').getByText(dollars(share)).waitFor();
    await expert.page.getByRole('link', { name: 'Expert dashboard' }).click();
    await expert.page.getByRole('heading', { name: 'Earnings' }).waitFor();
    assert.equal(await balance(expert.page, 'payable'), share, 'payable = charged − commission');
  });
});
