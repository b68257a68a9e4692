// Browser tests of the messenger against a real Parley server: two or
// three people, each in their own browser context, chatting through the
// web app (Debian's Chromium driven by playwright-core).
//
//   PARLEY_URL=http://127.0.0.1:8080 node --test tests/
//
// PARLEY_URL is a running `parley serve` with open sign-up.
// PARLEY_SCREENSHOTS, when set, is a folder for screenshots.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  api, assertNoSidewaysScroll, baseURL, composer, direct, launch, message, online, png,
  screenshotDir, send, sendViaApi, signedUp, storedMessages,
} from './helpers.mjs';

if (!baseURL) {
  test('messenger (set PARLEY_URL to a running parley serve)', { skip: 'PARLEY_URL is not set' }, () => {});
}

describe('messenger', { skip: !baseURL }, () => {
  /** @type {import('playwright-core').Browser} */
  let browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
  });

  /**
   * Two people with a direct conversation, each with it open.
   * @param {import('node:test').TestContext} t
   * @param {import('playwright-core').BrowserContextOptions} [options]
   */
  async function pair(t, options) {
    const ann = await signedUp(t, browser, 'Ann', options);
    const ben = await signedUp(t, browser, 'Ben', options);
    const conversation = await direct(ann, ben);
    await ann.page.goto(`/c/${conversation.id}`);
    await ben.page.goto(`/c/${conversation.id}`);
    await Promise.all([online(ann.page), online(ben.page)]);
    return { ann, ben, conversation };
  }

  test('two people chat both ways, with unread counts, presence, typing and Seen receipts', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    await ben.page.goto('/');
    await ben.page.getByRole('navigation', { name: 'Conversations' }).getByText('No conversations yet.', { exact: false }).waitFor();

    // Ann finds Ben and starts a direct conversation from the dialog.
    await ann.page.goto('/');
    await ann.page.getByRole('button', { name: 'New conversation' }).click();
    const dialog = ann.page.getByRole('dialog', { name: 'New conversation' });
    await dialog.getByLabel('Find people').fill(ben.name);
    await dialog.getByRole('checkbox', { name: ben.name }).check();
    await dialog.getByRole('button', { name: 'Start chat' }).click();
    await ann.page.getByRole('heading', { name: ben.name }).waitFor();
    assert.match(new URL(ann.page.url()).pathname, /^\/c\/[0-9a-f-]{36}$/);

    // The calls are there to use (tests/calls.test.mjs makes them).
    for (const name of ['Start video call', 'Start voice call', 'Start help call']) {
      assert.equal(await ann.page.getByRole('button', { name, exact: true }).isEnabled(), true, name);
    }

    await online(ann.page);
    await send(ann.page, 'Hello Ben, are you there?');
    const sent = message(ann.page, 'Hello Ben, are you there?');
    await sent.getByText('Sent', { exact: true }).waitFor();

    // Ben's list shows the new conversation with one unread message and
    // Ann online.
    const row = ben.page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: new RegExp(ann.name) });
    await row.filter({ hasText: 'Hello Ben, are you there?' }).waitFor();
    await ben.page.getByRole('link', { name: /1 unread message/ }).waitFor();
    await ben.page.getByRole('link', { name: `${ann.name} (Online)`, exact: false }).waitFor();
    await row.click();
    await message(ben.page, 'Hello Ben, are you there?').waitFor();
    await ben.page.getByRole('link', { name: /unread/ }).waitFor({ state: 'detached' });
    await ben.page.locator('.thread-subtitle').getByText('Online', { exact: true }).waitFor();

    // Ben has read it: Ann sees it was seen.
    await sent.getByText('Seen', { exact: true }).waitFor();

    // Ben types: Ann sees who; Ben sends: the indicator goes.
    await composer(ben.page).fill('Yes, here');
    const typing = ann.page.getByText(`${ben.name} is typing…`);
    await typing.waitFor();
    await composer(ben.page).press('Enter');
    await message(ann.page, 'Yes, here').waitFor();
    await typing.waitFor({ state: 'detached' });
    await message(ben.page, 'Yes, here').getByText('Seen', { exact: true }).waitFor();
    // Only the last message of one's own carries the receipt.
    await sent.getByText('Seen', { exact: true }).waitFor({ state: 'detached' });

    // Both ways, and each message once.
    await send(ann.page, 'Great, see you at three');
    await message(ben.page, 'Great, see you at three').waitFor();
    assert.equal(await message(ben.page, 'Hello Ben, are you there?').count(), 1);
    assert.equal(await message(ann.page, 'Yes, here').count(), 1);

    // The list moves the newest conversation up and shows its latest text.
    await ann.page.getByRole('navigation', { name: 'Conversations' }).getByText('Great, see you at three', { exact: false }).waitFor();
  });

  test('a message that looks like markup is shown as text, and links open safely', async (t) => {
    const { ann, ben } = await pair(t);
    const attack = '<img src=x onerror=alert(1)>';
    await send(ann.page, attack);
    const shown = message(ben.page, attack);
    await shown.waitFor();
    assert.equal(await shown.locator('.bubble img').count(), 0);
    assert.equal(await shown.locator('.message-text').textContent(), attack);

    await send(ann.page, 'Agenda: https://example.com/agenda?week=12. <b>bold?</b>');
    const withLink = message(ben.page, 'Agenda: https://example.com/agenda?week=12. <b>bold?</b>');
    const link = withLink.getByRole('link', { name: 'https://example.com/agenda?week=12' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), 'https://example.com/agenda?week=12');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await withLink.locator('.bubble b').count(), 0);

    // Neither page ran the script: the dialog watcher would have said.
    assert.deepEqual(ann.problems, []);
    assert.deepEqual(ben.problems, []);
  });

  test('replies, edits, deletions and reactions reach the other side', async (t) => {
    const { ann, ben } = await pair(t);
    await send(ann.page, 'Original plan: Friday');
    const original = message(ben.page, 'Original plan: Friday');
    await original.waitFor();

    // Ben replies to it.
    await original.getByRole('button', { name: 'Message actions' }).click();
    await ben.page.getByRole('button', { name: 'Reply' }).click();
    await ben.page.getByText(`Replying to ${ann.name}`).waitFor();
    await send(ben.page, 'Friday works for me');
    const reply = message(ann.page, 'Friday works for me');
    await reply.locator('.reply-quote').getByText('Original plan: Friday').waitFor();

    // Ann edits hers; Ben sees the new text, marked edited, in the quote too.
    await message(ann.page, 'Original plan: Friday').getByRole('button', { name: 'Message actions' }).click();
    await ann.page.getByRole('button', { name: 'Edit' }).click();
    await ann.page.getByText('Editing your message').waitFor();
    assert.equal(await composer(ann.page).inputValue(), 'Original plan: Friday');
    await send(ann.page, 'New plan: Saturday');
    const edited = message(ben.page, 'New plan: Saturday');
    await edited.getByText('(edited)').waitFor();
    await original.waitFor({ state: 'detached' });
    await message(ben.page, 'Friday works for me').locator('.reply-quote').getByText('New plan: Saturday').waitFor();

    // Ben reacts; Ann sees it and adds hers.
    await edited.getByRole('button', { name: 'Message actions' }).click();
    await ben.page.getByRole('button', { name: 'React with 👍' }).click();
    const thumbs = message(ann.page, 'New plan: Saturday').getByRole('button', { name: /^👍 1/ });
    await thumbs.waitFor();
    assert.equal(await thumbs.getAttribute('aria-pressed'), 'false');
    await thumbs.click();
    const both = edited.getByRole('button', { name: /^👍 2/ });
    await both.waitFor();
    assert.equal(await both.getAttribute('aria-pressed'), 'true');

    // Ann deletes it: Ben sees a tombstone, and the text and reactions are gone.
    await message(ann.page, 'New plan: Saturday').getByRole('button', { name: 'Message actions' }).click();
    await ann.page.getByRole('button', { name: 'Delete' }).click();
    await ann.page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    const tombstone = ben.page.locator('.message-list > li.message-deleted');
    await tombstone.getByText('This message was deleted.').waitFor();
    await edited.waitFor({ state: 'detached' });
    assert.equal(await tombstone.getByRole('button', { name: /👍/ }).count(), 0);
    await message(ben.page, 'Friday works for me').getByText('This message was deleted.').waitFor();
  });

  test('an attached image shows as a preview on the other side; a dropped file is a download', async (t) => {
    const { ann, ben } = await pair(t);
    await ann.page.locator('.composer input[type="file"]').setInputFiles({
      name: 'sunrise.png', mimeType: 'image/png', buffer: png(240, 150),
    });
    const upload = ann.page.locator('.upload', { hasText: 'sunrise.png' });
    await upload.waitFor();
    await upload.getByText('Uploading…').waitFor({ state: 'detached' });
    await send(ann.page, 'Look at this sky');

    const image = message(ben.page, 'Look at this sky').getByRole('img', { name: 'sunrise.png' });
    await image.waitFor();
    assert.match(await image.getAttribute('src') ?? '', /^\/api\/v1\/attachments\/[0-9a-f-]{36}$/);
    // It really loaded, from the download URL, at its own size.
    await ben.page.waitForFunction((img) => img instanceof HTMLImageElement && img.complete && img.naturalWidth === 240,
      await image.elementHandle());
    const imageLink = message(ben.page, 'Look at this sky').getByRole('link', { name: /sunrise\.png/ });
    assert.equal(await imageLink.getAttribute('rel'), 'noopener');

    // A file dropped on the thread goes with the next message.
    const files = await ann.page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['minutes of the meeting\n'], 'minutes.txt', { type: 'text/plain' }));
      return transfer;
    });
    const thread = ann.page.locator('section.thread');
    await thread.dispatchEvent('dragenter', { dataTransfer: files });
    await thread.dispatchEvent('dragover', { dataTransfer: files });
    await thread.dispatchEvent('drop', { dataTransfer: files });
    const dropped = ann.page.locator('.upload', { hasText: 'minutes.txt' });
    await dropped.waitFor();
    await dropped.getByText('Uploading…').waitFor({ state: 'detached' });
    await send(ann.page, 'And the minutes');
    const download = message(ben.page, 'And the minutes').getByRole('link', { name: 'minutes.txt' });
    await download.waitFor();
    assert.equal(await download.getAttribute('rel'), 'noopener');
    assert.equal(await download.getAttribute('download'), 'minutes.txt');
    const response = await ben.context.request.get(await download.getAttribute('href') ?? '');
    assert.equal(await response.text(), 'minutes of the meeting\n');
  });

  test('messages written offline wait in the outbox and go out once; the thread catches up', async (t) => {
    const { ann, ben, conversation } = await pair(t);
    await send(ann.page, 'Before the tunnel');
    await message(ben.page, 'Before the tunnel').waitFor();

    await ann.context.setOffline(true);
    await ann.page.getByRole('status').getByText('Reconnecting…').waitFor();
    await send(ann.page, 'Written in the tunnel');
    const pending = ann.page.locator('.message-pending', { hasText: 'Written in the tunnel' });
    await pending.getByText('Waiting for the connection…').waitFor();
    const outbox = await ann.page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? '[]'), `parley.outbox.${ann.user.id}`);
    assert.equal(outbox.length, 1);
    assert.equal(outbox[0].body, 'Written in the tunnel');
    const clientId = outbox[0].client_id;

    // Meanwhile Ben writes; Ann will catch up when she is back.
    await send(ben.page, 'Tell me when you are out');
    await message(ben.page, 'Tell me when you are out').waitFor();

    await ann.context.setOffline(false);
    await online(ann.page);
    await ann.page.getByRole('status').getByText('Reconnecting…').waitFor({ state: 'detached' });
    await message(ann.page, 'Tell me when you are out').waitFor();
    await message(ann.page, 'Written in the tunnel').waitFor();
    await pending.waitFor({ state: 'detached' });
    await message(ben.page, 'Written in the tunnel').waitFor();
    assert.equal(await ann.page.evaluate((key) => localStorage.getItem(key), `parley.outbox.${ann.user.id}`), null);

    // A message written offline survives the page closing; the next page
    // sends it with the same client id.
    await ann.context.setOffline(true);
    await ann.page.getByRole('status').getByText('Reconnecting…').waitFor();
    await send(ann.page, 'Written before closing the tab');
    await ann.page.locator('.message-pending', { hasText: 'Written before closing the tab' }).waitFor();
    const [second] = await ann.page.evaluate((key) => JSON.parse(localStorage.getItem(key) ?? '[]'), `parley.outbox.${ann.user.id}`);
    await ann.page.close();
    await ann.context.setOffline(false);
    const again = await ann.context.newPage();
    await again.goto(`/c/${conversation.id}`);
    await message(again, 'Written before closing the tab').waitFor();
    await message(ben.page, 'Written before closing the tab').waitFor();

    // Exactly once each, on the server and on both screens.
    const stored = await storedMessages(ben, conversation.id);
    const bodies = stored.map((/** @type {{ body: string }} */ m) => m.body);
    assert.deepEqual([...bodies].sort(),
      ['Before the tunnel', 'Tell me when you are out', 'Written before closing the tab', 'Written in the tunnel']);
    assert.equal(stored.find((/** @type {{ body: string }} */ m) => m.body === 'Written in the tunnel').client_id, clientId);
    assert.equal(stored.find((/** @type {{ body: string }} */ m) => m.body === 'Written before closing the tab').client_id, second.client_id);
    // The new page shows its outbox at once and the thread when its first
    // page arrives: wait for the thread, then count.
    await again.locator('.message:not(.message-pending)', { hasText: 'Before the tunnel' }).waitFor();
    await again.locator('.message-pending').waitFor({ state: 'detached' });
    for (const text of bodies) {
      assert.equal(await message(ben.page, text).count(), 1, `Ben sees "${text}" once`);
      assert.equal(await message(again, text).count(), 1, `Ann sees "${text}" once`);
    }
  });

  test('a send whose answer was lost with the connection is stored once, never twice', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const conversation = await direct(ann, ben);
    // Between Ann's page and the server: the first time a message goes
    // out, the server gets it but the page loses the connection before
    // the answer.
    /** @type {{ client_id: string, body: string }[]} */
    const sends = [];
    let cut = false;
    await ann.page.routeWebSocket(/\/api\/v1\/ws$/, (socket) => {
      const server = socket.connectToServer();
      let cutHere = false;
      socket.onMessage((data) => {
        server.send(data);
        const frame = JSON.parse(String(data));
        if (frame.type !== 'send') return;
        sends.push({ client_id: frame.client_id, body: frame.body });
        if (!cut) {
          cut = true;
          cutHere = true;
          void socket.close({ code: 4000, reason: 'cut by the test' });
          void server.close();
        }
      });
      server.onMessage((data) => {
        if (!cutHere) socket.send(data);
      });
    });
    await ann.page.goto(`/c/${conversation.id}`);
    await ben.page.goto(`/c/${conversation.id}`);
    await Promise.all([online(ann.page), online(ben.page)]);

    await send(ann.page, 'Sent into a cut line');
    await message(ann.page, 'Sent into a cut line').waitFor();
    await message(ben.page, 'Sent into a cut line').waitFor();
    await online(ann.page);
    await send(ann.page, 'And after it');
    await message(ben.page, 'And after it').waitFor();

    const stored = (await storedMessages(ben, conversation.id)).map((/** @type {{ body: string }} */ m) => m.body);
    assert.deepEqual(stored, ['Sent into a cut line', 'And after it']);
    const attempts = sends.filter((frame) => frame.body === 'Sent into a cut line');
    assert.ok(attempts.length >= 1);
    assert.equal(new Set(attempts.map((frame) => frame.client_id)).size, 1, 'every attempt carries the same client id');
    assert.equal(await message(ann.page, 'Sent into a cut line').count(), 1);
    assert.equal(await message(ben.page, 'Sent into a cut line').count(), 1);
  });

  test('scrolling back loads older messages, in order and without gaps', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const conversation = await direct(ann, ben);
    const total = 130;
    for (let n = 1; n <= total; n++) await sendViaApi(ann, conversation.id, `Message ${n}`);

    await ben.page.goto(`/c/${conversation.id}`);
    await message(ben.page, `Message ${total}`).waitFor();
    assert.equal(await message(ben.page, 'Message 1').count(), 0, 'the first page holds only the newest messages');
    await ben.page.waitForFunction(() => {
      const scroller = document.querySelector('.message-scroller');
      if (scroller) scroller.scrollTop = 0;
      return Array.from(document.querySelectorAll('.message-text')).some((node) => node.textContent === 'Message 1');
    }, null, { polling: 100, timeout: 15_000 });
    const texts = await ben.page.locator('.message-list .bubble > .message-text').allTextContents();
    assert.deepEqual(texts, Array.from({ length: total }, (_, index) => `Message ${index + 1}`));
  });

  test('search finds a message and shows it in its conversation, loading back to it', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const conversation = await direct(ann, ben);
    for (let n = 1; n <= 80; n++) {
      await sendViaApi(ann, conversation.id, n === 4 ? 'Remember the quokka sketch' : `Filler ${n}`);
    }
    await ben.page.goto('/');
    await ben.page.getByRole('searchbox', { name: 'Search messages' }).fill('quokka');
    await ben.page.getByRole('searchbox', { name: 'Search messages' }).press('Enter');
    await ben.page.getByRole('heading', { name: '1 result for “quokka”' }).waitFor();
    await ben.page.getByRole('link', { name: /Remember the quokka sketch/ }).click();
    const found = message(ben.page, 'Remember the quokka sketch');
    await found.waitFor();
    await ben.page.locator('.message-highlight').filter({ hasText: 'Remember the quokka sketch' }).waitFor();
    assert.equal(new URL(ben.page.url()).pathname, `/c/${conversation.id}`);
    assert.ok(await found.isVisible());
  });

  test('a group made in the dialog reaches its members, with names and "Seen by"', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const cai = await signedUp(t, browser, 'Cai');
    await ann.page.goto('/');
    await ann.page.getByRole('button', { name: 'New conversation' }).click();
    const dialog = ann.page.getByRole('dialog', { name: 'New conversation' });
    for (const person of [ben, cai]) {
      await dialog.getByLabel('Find people').fill(person.name);
      await dialog.getByRole('checkbox', { name: person.name }).check();
    }
    await dialog.getByLabel('Group name').fill('Launch team');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await ann.page.getByRole('heading', { name: 'Launch team' }).waitFor();
    await ann.page.getByText('3 members').waitFor();
    await online(ann.page);
    await send(ann.page, 'Welcome, both of you');

    for (const person of [ben, cai]) {
      await person.page.goto('/');
      // The list says who wrote the latest message of a group.
      const row = person.page.getByRole('link', { name: /Launch team/ });
      await row.getByText(`${ann.name}: Welcome, both of you`).waitFor();
      await row.click();
      const welcome = message(person.page, 'Welcome, both of you');
      await welcome.getByText(ann.name).waitFor();
      if (person === ben) await message(ann.page, 'Welcome, both of you').getByText(`Seen by ${ben.name}`).waitFor();
    }
    await message(ann.page, 'Welcome, both of you').getByText('Seen by everyone').waitFor();
  });

  test('the title counts new messages while the tab is hidden; notifications only after asking', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const conversation = await direct(ann, ben);
    // The browser's notifications, recorded: headless Chromium shows none.
    await ann.page.addInitScript(() => {
      const shown = [];
      let permission = 'default';
      class RecordingNotification extends EventTarget {
        static get permission() { return permission; }
        static async requestPermission() { permission = 'granted'; return permission; }
        constructor(title, options) { super(); shown.push({ title, body: options?.body }); }
        close() {}
      }
      Object.defineProperty(window, 'Notification', { value: RecordingNotification });
      Object.defineProperty(window, 'shownNotifications', { value: shown });
    });
    await ann.page.goto('/');
    await online(ann.page);
    const enable = ann.page.getByRole('button', { name: 'Turn on desktop notifications' });
    await enable.click();
    await enable.waitFor({ state: 'detached' });

    await ann.page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { value: true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await sendViaApi(ben, conversation.id, 'Are you coming?');
    await sendViaApi(ben, conversation.id, 'We are starting');
    await ann.page.waitForFunction(() => document.title === '(2) Parley');
    const shown = await ann.page.evaluate(() => /** @type {any} */ (window).shownNotifications);
    assert.deepEqual(shown, [
      { title: ben.name, body: 'Are you coming?' },
      { title: ben.name, body: 'We are starting' },
    ]);

    await ann.page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
      Object.defineProperty(document, 'hidden', { value: false, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await ann.page.waitForFunction(() => !document.title.startsWith('('));
  });

  test('speaks Korean to a ko-KR browser', async (t) => {
    const { ann } = await pair(t, { locale: 'ko-KR' });
    const page = ann.page;
    await page.getByRole('navigation', { name: '대화' }).waitFor();
    await page.getByRole('button', { name: '새 대화' }).waitFor();
    await page.getByRole('searchbox', { name: '메시지 검색' }).waitFor();
    await page.getByRole('textbox', { name: '메시지', exact: true }).waitFor();
    await page.getByRole('button', { name: '보내기' }).waitFor();
    for (const name of ['영상 통화 시작', '음성 통화 시작', '도움 통화 시작']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).isEnabled(), true, name);
    }
    await page.getByRole('textbox', { name: '메시지', exact: true }).fill('안녕하세요');
    await page.getByRole('button', { name: '보내기' }).click();
    // Ben has the conversation open, so it is read at once.
    await message(page, '안녕하세요').getByText('읽음', { exact: true }).waitFor();
    await message(page, '안녕하세요').getByRole('button', { name: '메시지 메뉴' }).click();
    await page.getByRole('button', { name: '답장' }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByText('오늘', { exact: true }).waitFor();

    await page.getByRole('button', { name: '새 대화' }).click();
    await page.getByRole('dialog', { name: '새 대화' }).getByLabel('사람 찾기').waitFor();
    await page.getByRole('button', { name: '취소' }).click();

    await ann.context.setOffline(true);
    await page.getByRole('status').getByText('다시 연결하는 중…').waitFor();
    await ann.context.setOffline(false);
    await online(page);
  });

  test('on a phone, the list and the thread are two screens that fit 360 px', async (t) => {
    const { ann, ben } = await pair(t, { viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });
    await send(ben.page, 'Hi from the phone');
    const page = ann.page;
    await page.goto('/');
    const list = page.getByRole('navigation', { name: 'Conversations' });
    await list.getByRole('link', { name: new RegExp(ben.name) }).waitFor();
    assert.equal(await page.getByRole('textbox', { name: 'Message', exact: true }).count(), 0);
    await assertNoSidewaysScroll(page);

    await list.getByRole('link', { name: new RegExp(ben.name) }).click();
    await message(page, 'Hi from the phone').waitFor();
    assert.equal(await list.isVisible(), false, 'the list gives way to the thread');
    await send(page, 'Hello from a small screen, with a long line that has to wrap inside the bubble properly');
    await message(page, 'Hello from a small screen, with a long line that has to wrap inside the bubble properly').waitFor();
    await assertNoSidewaysScroll(page);

    await page.getByRole('link', { name: 'Back to conversations' }).click();
    await list.waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
  });

  test('the account screen is reachable from the menu, and back', async (t) => {
    const ann = await signedUp(t, browser, 'Ann');
    await ann.page.goto('/');
    await ann.page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    await ann.page.getByRole('button', { name: ann.name }).click();
    await ann.page.getByRole('link', { name: 'Account' }).click();
    await ann.page.getByText(`Signed in as ${ann.name} (`).waitFor();
    assert.equal(new URL(ann.page.url()).pathname, '/account');
    await ann.page.getByRole('link', { name: 'Back to messages' }).click();
    await ann.page.getByRole('navigation', { name: 'Conversations' }).waitFor();
    assert.equal(new URL(ann.page.url()).pathname, '/');
  });

  test('takes screenshots when PARLEY_SCREENSHOTS is set', { skip: !screenshotDir && 'PARLEY_SCREENSHOTS is not set' }, async (t) => {
    await mkdir(screenshotDir, { recursive: true });
    const ann = await signedUp(t, browser, 'Ann');
    const ben = await signedUp(t, browser, 'Ben');
    const cai = await signedUp(t, browser, 'Cai');
    const conversation = await direct(ann, ben);
    await api(ann.context, 'POST', '/conversations', { kind: 'group', title: 'Design review', members: [ben.user.id, cai.user.id] });
    await sendViaApi(cai, (await direct(cai, ann)).id, 'Can you send me the slides before lunch?');
    await sendViaApi(ben, conversation.id, 'Morning! Did the printer ever get fixed?');
    await sendViaApi(ann, conversation.id, 'Yes, and it prints in colour now. See https://example.com/printer for the manual.');
    const first = await sendViaApi(ben, conversation.id, 'Perfect. I will bring the posters over at three.');
    const upload = await ann.context.request.post(`/api/v1/conversations/${conversation.id}/attachments?name=poster-draft.png`, {
      headers: { 'Content-Type': 'application/octet-stream' }, data: png(320, 200),
    });
    assert.equal(upload.status(), 201);
    const attachment = await upload.json();
    await api(ann.context, 'POST', `/conversations/${conversation.id}/messages`, {
      client_id: `shot-${Date.now()}`, body: 'Here is the draft', attachments: [attachment.id], reply_to: first.id,
    });
    await api(ben.context, 'PUT', `/conversations/${conversation.id}/messages/${first.id}/reactions/${encodeURIComponent('👍')}`);
    await api(ben.context, 'POST', `/conversations/${conversation.id}/read`, { seq: 1000 });
    const state = await ann.context.storageState();

    for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
      for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
        const size = `${viewport.width}x${viewport.height}`;
        const context = await browser.newContext({ baseURL, locale: 'en-US', colorScheme, viewport, storageState: state });
        t.after(() => context.close());
        const page = await context.newPage();
        await page.goto(`/c/${conversation.id}`);
        await message(page, 'Here is the draft').getByText('Seen', { exact: true }).waitFor();
        await page.locator('.thread-subtitle').waitFor();
        await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
        await page.mouse.move(0, 0);
        await page.screenshot({ path: path.join(screenshotDir, `messenger-thread-${colorScheme}-${size}.png`) });

        if (viewport.width < 600) {
          await page.getByRole('link', { name: 'Back to conversations' }).click();
          await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /Design review/ }).waitFor();
          await page.screenshot({ path: path.join(screenshotDir, `messenger-list-${colorScheme}-${size}.png`) });
        }
        await page.getByRole('button', { name: 'New conversation' }).click();
        await page.getByLabel('Find people').fill('Ben');
        await page.getByRole('dialog').getByRole('checkbox').first().waitFor();
        await page.screenshot({ path: path.join(screenshotDir, `messenger-new-${colorScheme}-${size}.png`) });
        await page.close();
      }
    }

    // Offline, with a message waiting in the outbox (each run adds one, so
    // this comes after the pictures that show the receipts).
    for (const colorScheme of /** @type {const} */ (['light', 'dark'])) {
      for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
        const size = `${viewport.width}x${viewport.height}`;
        const context = await browser.newContext({ baseURL, locale: 'en-US', colorScheme, viewport, storageState: state });
        t.after(() => context.close());
        const page = await context.newPage();
        await page.goto(`/c/${conversation.id}`);
        await online(page);
        await context.setOffline(true);
        await page.getByRole('status').getByText('Reconnecting…').waitFor();
        await send(page, 'On my way, the train just went into a tunnel');
        await page.locator('.message-pending').getByText('Waiting for the connection…').waitFor();
        await page.waitForFunction(() => Array.from(document.images).every((img) => img.complete));
        await page.screenshot({ path: path.join(screenshotDir, `messenger-offline-${colorScheme}-${size}.png`) });
        await context.setOffline(false);
        await page.locator('.message-pending').waitFor({ state: 'detached' });
      }
    }
  });
});
