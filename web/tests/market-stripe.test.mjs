// The marketplace with payments by Stripe, in the browser: the server
// talks to a stateful stand-in for Stripe whose hosted pages — Checkout in
// setup mode, Express onboarding, 3-D Secure — finish at once and send the
// browser straight back, as Stripe's do once the person is done. A learner
// adds a card through Checkout and sees it; an expert sets up payouts and
// sees them enabled; the learner books a paid session and the hold shows;
// a second learner whose card asks for 3-D Secure is sent to their bank
// and back, and the booking completes.
//
// Run by TestBrowserStripe (web/stripe_browser_test.go), which sets
// PARLEY_STRIPE; on the wallet's server (TestBrowser) it is skipped.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { api, audit, baseURL, launch, screenshotDir, signedUp } from './helpers.mjs';

const stripe = process.env.PARLEY_STRIPE === '1';

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {import('playwright-core').BrowserContext} */
let adminContext;

before(async () => {
  if (!stripe) return;
  browser = await launch();
  adminContext = await browser.newContext({ baseURL, locale: 'en-US' });
  const r = await adminContext.request.post('/api/v1/auth/login', {
    data: { email: process.env.PARLEY_ADMIN_EMAIL, password: process.env.PARLEY_ADMIN_PASSWORD },
  });
  assert.ok(r.ok(), `admin sign-in: ${r.status()} ${await r.text()}`);
});

after(async () => {
  await adminContext?.close();
  await browser?.close();
});

/**
 * @param {string} method
 * @param {string} route
 * @param {unknown} [data]
 */
function admin(method, route, data) {
  return api(adminContext, method, route, data);
}

/**
 * With PARLEY_SCREENSHOTS, keeps a picture of the page.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
async function shoot(page, name) {
  if (!screenshotDir) return;
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `market-stripe-${name}.png`), fullPage: true });
}

/**
 * The wallet's "Held for sessions" in minor units.
 * @param {import('playwright-core').Page} page
 */
async function held(page) {
  return Number(await page.locator('[data-balance="USD"] [data-field="held"]').getAttribute('data-amount'));
}

describe('the marketplace with Stripe', { skip: !stripe && 'needs a server with payments by Stripe (TestBrowserStripe)' }, () => {
  test('a learner adds a card through Checkout, an expert sets up payouts, and a paid booking holds on the card — through 3-D Secure too', async (t) => {
    // The expert: applied and approved through the API, payouts clicked.
    const expert = await signedUp(t, browser, 'Expert');
    await api(expert.context, 'POST', '/market/experts/apply', {
      headline: 'Guitar teacher', bio: 'Twenty years of lessons.', languages: ['en'], categories: ['art-music'], time_zone: 'UTC',
    });
    await admin('POST', `/market/experts/${expert.user.id}/approve`);
    const weekly = Object.fromEntries(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']
      .map((day) => [day, [{ open: '00:00', close: '24:00' }]]));
    await api(expert.context, 'PUT', '/market/experts/me/availability', {
      hours: { time_zone: 'UTC', weekly }, buffer_minutes: 0, max_per_day: 48, available_now: false,
    });
    const listingInput = {
      title: `Guitar chords ${Date.now().toString(36)}`, description: 'Your first chords, live.', category: 'art-music', languages: ['en'],
      price_model: 'per_session', price: { amount: 2500, currency: 'USD' }, min_billable_minutes: 0, session_minutes: 30,
      cancellation: 'flexible', start_now: false,
    };
    const early = await expert.context.request.post('/api/v1/market/listings', { data: listingInput });
    assert.equal(early.status(), 409, 'a paid listing before payouts are set up');
    assert.equal((await early.json()).type, 'urn:parley:problem:payouts-not-set-up');

    await expert.page.goto('/market/expert');
    const payouts = expert.page.getByRole('region', { name: 'Payouts' });
    await payouts.getByText('Not set up').waitFor();
    await audit(expert.page, 'payouts not set up');
    await shoot(expert.page, 'payouts-not-set-up');
    await payouts.getByRole('button', { name: 'Set up payouts' }).click();
    // Stripe's onboarding (the fake's finishes at once) sends the expert back.
    await expert.page.waitForURL((url) => url.pathname === '/market/expert');
    await expert.page.getByRole('region', { name: 'Payouts' }).getByText('Payouts enabled').waitFor();
    await shoot(expert.page, 'payouts-enabled');
    const listing = await api(expert.context, 'POST', '/market/listings', listingInput);
    await admin('POST', `/market/listings/${listing.id}/approve`);

    // The learner adds a card on Stripe's Checkout page and sees it.
    const learner = await signedUp(t, browser, 'Learner');
    await learner.page.goto('/market/wallet');
    const card = learner.page.getByRole('region', { name: 'Card' });
    await card.getByText('No card saved yet.').waitFor();
    await card.getByRole('button', { name: 'Add a card' }).click();
    await learner.page.waitForURL((url) => url.pathname === '/market/wallet' && !url.search.includes('checkout'));
    await card.getByText('Your card is saved.').waitFor();
    await card.getByText('Visa ending in 4242, expires 12/34').waitFor();
    await card.getByRole('button', { name: 'Replace card' }).waitFor();
    await audit(learner.page, 'the wallet with a saved card');
    await shoot(learner.page, 'wallet-card');

    // The learner books the first free time: the hold is on the card.
    await learner.page.goto(`/market/listings/${listing.id}`);
    await learner.page.locator('.market-slot').first().click();
    await learner.page.getByRole('button', { name: /^Book / }).click();
    await learner.page.waitForURL((url) => url.pathname.startsWith('/market/sessions/'));
    const sessionId = decodeURIComponent(new URL(learner.page.url()).pathname.split('/').pop() ?? '');
    const session = await api(learner.context, 'GET', `/market/sessions/${sessionId}`);
    assert.equal(session.status, 'booked');
    assert.equal(session.held, 2500);
    await learner.page.goto('/market/wallet');
    await learner.page.locator('[data-balance="USD"]').waitFor();
    assert.equal(await held(learner.page), 2500, 'the wallet shows the hold');
    await shoot(learner.page, 'wallet-held');
    const balance = await api(learner.context, 'GET', '/billing/balance');
    assert.equal(balance.items.find((/** @type {{ currency: string }} */ b) => b.currency === 'USD')?.wallet ?? 0, 0, 'the wallet itself never moved');

    // A second learner's card asks for 3-D Secure: their bank's page, and
    // back, and the booking is made.
    const careful = await signedUp(t, browser, 'Careful');
    const checkout = await api(careful.context, 'POST', '/billing/stripe/checkout');
    await careful.page.goto(`${checkout.url}?card=pm_card_authenticationRequired`);
    await careful.page.getByRole('region', { name: 'Card' }).getByText('Visa ending in 3184, expires 12/34').waitFor();
    await careful.page.goto(`/market/listings/${listing.id}`);
    await careful.page.locator('.market-slot').first().click();
    await careful.page.getByRole('button', { name: /^Book / }).click();
    await careful.page.waitForURL((url) => url.pathname.startsWith('/market/sessions/'), { timeout: 20_000 });
    const confirmed = await api(careful.context, 'GET', `/market/sessions/${decodeURIComponent(new URL(careful.page.url()).pathname.split('/').pop() ?? '')}`);
    assert.equal(confirmed.status, 'booked');
    assert.equal(confirmed.held, 2500);
    const sessions = await api(careful.context, 'GET', '/market/sessions');
    assert.equal(sessions.items.length, 1, 'one booking, however the return went');
  });
});
