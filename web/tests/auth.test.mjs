// Browser tests of the sign-in, create-account and account screens against
// a real Parley server, in Debian's Chromium driven by playwright-core.
//
//   PARLEY_URL=http://127.0.0.1:8080 node --test tests/
//
// PARLEY_URL is a running `parley serve` with a fresh data directory and
// open sign-up. PARLEY_SCREENSHOTS, when set, is a folder for screenshots
// (light and dark, desktop and phone). CHROMIUM overrides /usr/bin/chromium.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

const baseURL = process.env.PARLEY_URL;
const screenshotDir = process.env.PARLEY_SCREENSHOTS;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const launchArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const password = 'correct horse battery';
let accounts = 0;

/** A person nobody has signed up as yet, in this run or an earlier one. */
function newPerson() {
  accounts += 1;
  const id = `${Date.now().toString(36)}${process.pid.toString(36)}${accounts}`;
  return { name: `Tester ${id}`, email: `web-${id}@example.test`, password };
}

if (!baseURL) {
  // Said as a skipped test, so a run without a server does not look green.
  test('auth screens (set PARLEY_URL to a running parley serve)', { skip: 'PARLEY_URL is not set' }, () => {});
}

describe('auth screens', { skip: !baseURL }, () => {
  /** @type {import('playwright-core').Browser} */
  let browser;

  before(async () => {
    browser = await chromium.launch({ executablePath, args: launchArgs, headless: true });
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * A fresh browser profile. Script errors and console errors (a CSP
   * violation is one) fail the test; failed HTTP answers the app handles
   * (401 before sign-in, a wrong password) are expected.
   * @param {import('playwright-core').BrowserContextOptions} [options]
   */
  async function open(t, options = {}) {
    const context = await browser.newContext({ baseURL, locale: 'en-US', ...options });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(`console error: ${message.text()}`);
      }
    });
    t.after(async () => {
      await context.close();
      assert.deepEqual(problems, [], 'the page logged errors');
    });
    return { context, page };
  }

  /** Signs a new person up through the API, in context's cookie jar. */
  async function signUpViaApi(context, person = newPerson()) {
    const response = await context.request.post('/api/v1/auth/signup', {
      data: { email: person.email, name: person.name, password: person.password },
    });
    assert.equal(response.status(), 201, await response.text());
    return person;
  }

  /** @param {import('playwright-core').Page} page */
  async function signIn(page, person) {
    await page.getByLabel('Email', { exact: true }).fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill(person.password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  test('creates an account through the form, signs out and signs in again', async (t) => {
    const { page } = await open(t);
    const person = newPerson();
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();

    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Create account' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/signup');
    await page.getByLabel('Name', { exact: true }).fill(person.name);
    await page.getByLabel('Email', { exact: true }).fill(person.email);
    const passwordField = page.getByLabel('Password', { exact: true });

    // Too short a password is caught before it is sent, next to the field.
    await passwordField.fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('Use 10 to 256 characters (this has 5).').waitFor();
    assert.equal(await passwordField.getAttribute('aria-invalid'), 'true');
    assert.match(await passwordField.getAttribute('aria-describedby') ?? '', /-error/);

    await passwordField.fill(person.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    // A new account lands on the messenger; the account screen is in the
    // person's menu.
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    await page.getByRole('button', { name: person.name }).click();
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByText(`Signed in as ${person.name} (`).waitFor();
    assert.equal(new URL(page.url()).pathname, '/account');
    await page.getByRole('listitem').filter({ hasText: 'This device' }).waitFor();

    // The session is a cookie: a reload stays signed in.
    await page.reload();
    await page.getByText(`Signed in as ${person.name} (`).waitFor();

    await page.getByRole('main').getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    await page.getByText('You have signed out.').waitFor();
    assert.equal(await page.getByRole('button', { name: person.name }).count(), 0, 'the menu went with the session');

    await signIn(page, person);
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');

    // Signing out from the menu works too.
    await page.getByRole('button', { name: person.name }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
  });

  test('shows the server\'s errors: a wrong password, a taken email', async (t) => {
    const { context, page } = await open(t);
    const person = await signUpViaApi(context);
    await context.clearCookies();

    await page.goto('/signin');
    await signIn(page, { ...person, password: 'not the password' });
    const alert = page.getByRole('alert').filter({ hasText: 'Wrong email or password.' });
    await alert.waitFor();
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();

    await page.getByRole('link', { name: 'Create account' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Someone Else');
    await page.getByLabel('Email', { exact: true }).fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Create account' }).click();
    // A field error from the API lands beside its field.
    const email = page.getByLabel('Email', { exact: true });
    await page.locator('input[name="email"][aria-invalid="true"]').waitFor();
    const describedBy = await email.getAttribute('aria-describedby');
    assert.ok(describedBy, 'the email field points at its error');
    const fieldError = await page.locator(`[id="${describedBy}"]`).textContent();
    assert.equal(fieldError, 'Already registered.');
    await page.getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
  });

  test('creates an API token, shows its secret once, lists and revokes it', async (t) => {
    const { context, page } = await open(t);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
    await signUpViaApi(context);
    await page.goto('/account');

    const tokenName = `deploy bot ${accounts}`;
    await page.getByLabel('Token name').fill(tokenName);
    await page.getByRole('button', { name: 'Create token' }).click();
    const secretField = page.getByLabel('New token', { exact: true });
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    assert.ok(secret.length > 20, `token secret ${secret}`);
    const row = page.getByRole('listitem').filter({ hasText: tokenName });
    await row.waitFor();

    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);

    // The secret shown is a working credential.
    const me = await context.request.get('/api/v1/me', { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(me.status(), 200);

    await page.getByRole('button', { name: 'Done' }).click();
    await secretField.waitFor({ state: 'detached' });

    await row.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText(tokenName).waitFor();
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('Token revoked.').waitFor();
    await page.getByText('No tokens yet.').waitFor();
  });

  test('ends another session from the sessions list', async (t) => {
    const { context, page } = await open(t);
    const person = await signUpViaApi(context);
    const other = await browser.newContext({ baseURL, userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0' });
    t.after(() => other.close());
    const login = await other.request.post('/api/v1/auth/login', { data: { email: person.email, password } });
    assert.equal(login.status(), 200);

    await page.goto('/account');
    const sessions = page.getByRole('region', { name: 'Sessions' }).getByRole('listitem');
    await sessions.nth(1).waitFor();
    assert.equal(await sessions.count(), 2);
    await sessions.filter({ hasNotText: 'This device' }).getByRole('button', { name: 'End session' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End session' }).click();
    await page.getByText('Session ended.').waitFor();
    await sessions.nth(1).waitFor({ state: 'detached' });
    assert.equal(await sessions.count(), 1);
    await sessions.filter({ hasText: 'This device' }).waitFor();

    const me = await other.request.get('/api/v1/me');
    assert.equal(me.status(), 401);
  });

  test('changes the password', async (t) => {
    const { context, page } = await open(t);
    const person = await signUpViaApi(context);
    await page.goto('/account');

    const form = page.getByRole('region', { name: 'Change password' });
    await form.getByLabel('Current password').fill('not the password');
    await form.getByLabel('New password').fill('a brand new password');
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.locator('input[name="current_password"][aria-invalid="true"]').waitFor();

    await form.getByLabel('Current password').fill(person.password);
    await form.getByLabel('New password').fill('a brand new password');
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password has been changed.').waitFor();

    await context.clearCookies();
    await page.goto('/signin');
    await signIn(page, { ...person, password: 'a brand new password' });
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
  });

  test('speaks Korean to a ko-KR browser and remembers a switch to English', async (t) => {
    const { page } = await open(t, { locale: 'ko-KR' });
    await page.goto('/');
    await page.getByLabel('이메일', { exact: true }).waitFor();
    await page.getByLabel('비밀번호', { exact: true }).waitFor();
    await page.getByRole('button', { name: '로그인', exact: true }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'ko');

    await page.getByRole('link', { name: '계정 만들기' }).click();
    await page.getByLabel('이름', { exact: true }).waitFor();
    await page.getByRole('button', { name: '계정 만들기' }).waitFor();

    await page.getByLabel('언어').selectOption('en');
    await page.getByLabel('Name', { exact: true }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Create account' }).waitFor();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  });

  // The server under test runs with open sign-up, so the other modes are
  // shown by answering GET /api/v1/config in the browser; everything else
  // still goes to the real server.
  /**
   * @param {import('playwright-core').Page} page
   * @param {'open' | 'invite' | 'closed'} mode
   */
  async function pretendSignupMode(page, mode) {
    await page.route('**/api/v1/config', (route) =>
      route.fulfill({ json: { signup_mode: mode, version: 'test', setup: false } }));
  }

  test('offers a visitor on the marketplace a way to sign in, and none once signed in', async (t) => {
    const { context, page } = await open(t);
    await page.goto('/market');
    await page.getByRole('heading', { name: 'Find an expert' }).waitFor();
    const header = page.getByRole('banner');
    await header.getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    // On the sign-in screen itself the header does not repeat it.
    assert.equal(await header.getByRole('link', { name: 'Sign in' }).isVisible(), false);
    const person = await signUpViaApi(context);
    await page.goto('/market');
    await header.getByRole('button', { name: person.name }).waitFor();
    assert.equal(await header.getByRole('link', { name: 'Sign in' }).isVisible(), false);
  });

  test('welcomes the operator of a fresh installation to create the first account', async (t) => {
    const { page } = await open(t);
    // Invite-only, yet the first account needs no invite: the server lets
    // it through (TestSignupModes) and the form does not ask for one.
    await page.route('**/api/v1/config', (route) =>
      route.fulfill({ json: { signup_mode: 'invite', version: 'test', setup: true } }));
    await page.goto('/signin');
    await page.getByRole('heading', { name: 'Create account' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/signup');
    await page.getByText('This Parley has no accounts yet. The account you create now is its operator').waitFor();
    assert.equal(await page.getByLabel('Invite code').count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 0);
    // Browsing the marketplace needs no account, set up or not.
    await page.goto('/market');
    await page.getByRole('heading', { name: 'Find an expert' }).waitFor();
  });

  test('hides account creation when sign-up is closed', async (t) => {
    const { page } = await open(t);
    await pretendSignupMode(page, 'closed');
    await page.goto('/signup');
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    await page.getByText('New accounts are created by an administrator.').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Create account' }).count(), 0);
    assert.equal(new URL(page.url()).pathname, '/signin');
  });

  test('asks for the invite code in invite mode, filled in from the link', async (t) => {
    const { page } = await open(t);
    await pretendSignupMode(page, 'invite');
    const person = newPerson();
    await page.goto('/?invite=pi_abc123');
    const invite = page.getByLabel('Invite code');
    await invite.waitFor();
    assert.equal(await invite.inputValue(), 'pi_abc123');

    // The code survives a detour through the sign-in screen.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Create account' }).click();
    assert.equal(await invite.inputValue(), 'pi_abc123');

    await page.getByLabel('Name', { exact: true }).fill(person.name);
    await page.getByLabel('Email', { exact: true }).fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill(person.password);
    const [request] = await Promise.all([
      page.waitForRequest('**/api/v1/auth/signup'),
      page.getByRole('button', { name: 'Create account' }).click(),
    ]);
    assert.deepEqual(request.postDataJSON(), {
      email: person.email, name: person.name, password: person.password, invite: 'pi_abc123',
    });
    assert.equal(request.headers()['content-type'], 'application/json');
    await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
  });

  test('tells the person how long to wait after too many attempts', async (t) => {
    const { page } = await open(t);
    // The real throttle counts failures per client address for 15 minutes,
    // which would leak into the other tests; the answer is shaped as the
    // server shapes it.
    await page.route('**/api/v1/auth/login', (route) => route.fulfill({
      status: 429,
      headers: { 'Content-Type': 'application/problem+json', 'Retry-After': '42' },
      body: JSON.stringify({
        type: 'urn:parley:problem:rate-limited', title: 'Too many requests', status: 429,
        detail: 'slow down and try again later',
      }),
    }));
    await page.goto('/signin');
    await signIn(page, newPerson());
    await page.getByRole('alert').filter({ hasText: 'Wait 42 seconds' }).waitFor();
  });

  test('fits a 360 px wide screen without sideways scrolling', async (t) => {
    const { context, page } = await open(t, { viewport: { width: 360, height: 740 } });
    await page.goto('/');
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    await assertNoSidewaysScroll(page);

    await signUpViaApi(context);
    await page.goto('/account');
    await page.getByRole('listitem').filter({ hasText: 'This device' }).waitFor();
    await assertNoSidewaysScroll(page);
  });

  test('takes screenshots when PARLEY_SCREENSHOTS is set', { skip: !screenshotDir && 'PARLEY_SCREENSHOTS is not set' }, async (t) => {
    await mkdir(screenshotDir, { recursive: true });
    for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
      for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
        const size = `${viewport.width}x${viewport.height}`;
        const { context, page } = await open(t, { colorScheme, viewport });
        await page.goto('/');
        await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
        await page.screenshot({ path: path.join(screenshotDir, `signin-${colorScheme}-${size}.png`) });

        await page.getByRole('link', { name: 'Create account' }).click();
        await page.getByRole('button', { name: 'Create account' }).click();
        await page.getByText('Fill in this field.').first().waitFor();
        await page.screenshot({ path: path.join(screenshotDir, `signup-errors-${colorScheme}-${size}.png`) });

        await signUpViaApi(context);
        await page.goto('/account');
        await page.getByLabel('Token name').fill('CI deploys');
        await page.getByRole('button', { name: 'Create token' }).click();
        await page.getByLabel('New token', { exact: true }).waitFor();
        await page.getByRole('listitem').filter({ hasText: 'CI deploys' }).waitFor();
        await page.screenshot({ path: path.join(screenshotDir, `account-${colorScheme}-${size}.png`), fullPage: true });
      }
    }
  });
});

/** @param {import('playwright-core').Page} page */
async function assertNoSidewaysScroll(page) {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
  assert.ok(scrollWidth <= clientWidth, `page is ${scrollWidth}px wide in a ${clientWidth}px window`);
}
