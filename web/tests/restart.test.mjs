// The server restarts in the middle of a conversation: both pages show
// that they are reconnecting, come back by themselves, and afterwards
// every message is there exactly once, including what was sent while the
// server was away or before a page had caught up.
//
//   PARLEY_URL=http://127.0.0.1:8080 PARLEY_RESTART_URL=… node --test tests/
//
// PARLEY_RESTART_URL is an address the harness (web/browser_test.go)
// provides: a POST to it restarts the server at PARLEY_URL with the same
// data, and answers 2xx once the request to restart has been taken (it
// may answer before or after the server is back; the test waits either
// way). Without it this test is skipped, saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseURL, direct, launch, message, online, send, sendViaApi, signedUp, storedMessages,
} from './helpers.mjs';

const restartURL = process.env.PARLEY_RESTART_URL;
const skip = !baseURL ? 'PARLEY_URL is not set'
  : !restartURL ? 'PARLEY_RESTART_URL is not set: the harness did not offer to restart the server'
    : false;

describe('server restart', { skip }, () => {
  /** @type {import('playwright-core').Browser} */
  let browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  test('a conversation survives the server restarting: reconnect, catch up, nothing twice', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const conversation = await direct(ann, ben);
    for (const person of [ann, ben]) {
      await person.page.goto(`/c/${conversation.id}`);
      await online(person.page);
      // Every connection state the page goes through, however briefly.
      await person.page.evaluate(() => {
        const screen = document.querySelector('.messenger');
        const seen = [screen?.getAttribute('data-connection')];
        new MutationObserver(() => seen.push(screen?.getAttribute('data-connection')))
          .observe(/** @type {Element} */ (screen), { attributes: true, attributeFilter: ['data-connection'] });
        Object.defineProperty(window, 'connectionStates', { value: seen });
      });
    }
    await send(ann.page, 'Before the restart');
    await message(ben.page, 'Before the restart').waitFor();

    const response = await fetch(/** @type {string} */ (restartURL), { method: 'POST' });
    assert.ok(response.ok, `POST ${restartURL}: ${response.status} ${await response.text()}`);

    // Both pages noticed the connection go, and came back by themselves.
    for (const person of [ann, ben]) {
      await person.page.waitForFunction(() => {
        const seen = /** @type {any} */ (window).connectionStates;
        return seen.includes('reconnecting') && seen[seen.length - 1] === 'online';
      }, null, { timeout: 60_000 });
    }

    // Written while or right after the server came back: Ann's goes through
    // the outbox if her page has not caught up yet; Ben's arrives through
    // the API, to be caught up by cursor or received live.
    await send(ann.page, 'After the restart, from Ann');
    await sendViaApi(ben, conversation.id, 'After the restart, from Ben');
    await message(ben.page, 'After the restart, from Ann').waitFor({ timeout: 30_000 });
    await message(ann.page, 'After the restart, from Ben').waitFor({ timeout: 30_000 });
    await send(ben.page, 'Still here');
    await message(ann.page, 'Still here').waitFor();

    const expected = ['Before the restart', 'After the restart, from Ann', 'After the restart, from Ben', 'Still here'];
    const stored = (await storedMessages(ann, conversation.id)).map((/** @type {{ body: string }} */ m) => m.body);
    assert.deepEqual([...stored].sort(), [...expected].sort());
    for (const person of [ann, ben]) {
      for (const text of expected) {
        assert.equal(await message(person.page, text).count(), 1, `${person.name} sees "${text}" once`);
      }
    }
  });
});

if (skip) {
  // Said again at the top level, so a run without the harness's help does
  // not look as if the restart had been tested.
  test('server restart (needs PARLEY_URL and PARLEY_RESTART_URL)', { skip }, () => {});
}
