// An automated accessibility audit (axe-core, WCAG 2.2 A and AA rules and
// best practices) of the main screens, in light and dark: sign-in, the
// messenger with a conversation open, an incoming call, and the call
// screen. Serious and critical violations fail the test.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { audit, baseURL, direct, eventually, fakeMediaArgs, launch, message, online, send, signedUp, watch } from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  browser = await launch(fakeMediaArgs);
});

after(async () => {
  await browser?.close();
});

/**
 * Audits the page in both colour schemes.
 * @param {import('playwright-core').Page} page
 * @param {string} label
 */
async function auditBoth(page, label) {
  for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
    await audit(page, `${label} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

describe('accessibility', () => {
  test('sign-in', async (t) => {
    const context = await browser.newContext({ baseURL, locale: 'en-US' });
    t.after(() => context.close());
    const page = await context.newPage();
    watch(page);
    await page.goto('/signin');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await auditBoth(page, 'sign-in');
  });

  test('messenger, incoming call and the call screen', async (t) => {
    const ann = await signedUp(t, browser, 'Ann', { permissions: ['camera', 'microphone'] });
    const ben = await signedUp(t, browser, 'Ben', { permissions: ['camera', 'microphone'] });
    for (const who of [ann, ben]) who.context.setDefaultTimeout(30_000);
    const conversation = await direct(ann, ben);
    await Promise.all([ann.page.goto(`/c/${conversation.id}`), ben.page.goto(`/c/${conversation.id}`)]);
    await Promise.all([online(ann.page), online(ben.page)]);
    await send(ann.page, 'Hello Ben, can we talk?');
    await message(ben.page, 'Hello Ben, can we talk?').waitFor();
    await auditBoth(ben.page, 'messenger');

    await ann.page.getByRole('button', { name: 'Start video call', exact: true }).click();
    const ringing = ben.page.getByRole('dialog', { name: 'Incoming video call' });
    await ringing.waitFor();
    await auditBoth(ben.page, 'incoming call');
    await ringing.getByRole('button', { name: 'Accept' }).click();
    await ben.page.locator('section.call-screen .video-tile').filter({ hasText: ann.name }).waitFor();
    await ann.page.locator('section.call-screen .video-tile').filter({ hasText: ben.name }).waitFor();
    await auditBoth(ann.page, 'call screen');

    // By keyboard alone: the focus starts on the call's heading, Tab
    // reaches the controls with a visible focus ring, Space toggles.
    assert.equal(await ann.page.evaluate(() => document.activeElement?.classList.contains('call-title')), true);
    await ann.page.keyboard.press('Tab');
    const focused = () => ann.page.evaluate(() => {
      const active = /** @type {HTMLElement} */ (document.activeElement);
      const style = getComputedStyle(active);
      return { name: active.textContent, outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
    });
    assert.deepEqual(await focused(), { name: 'Mute', outline: true });
    await ann.page.keyboard.press('Space');
    const mute = ann.page.getByRole('button', { name: 'Mute', exact: true });
    await eventually('Mute to be pressed', async () => await mute.getAttribute('aria-pressed') === 'true');
    await ann.page.getByRole('button', { name: 'End call', exact: true }).click();
    await ben.page.locator('section.call-screen').waitFor({ state: 'detached' });
  });
});
