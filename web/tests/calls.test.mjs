// Calls in the browser, with real media: Chromium's fake camera,
// microphone and screen, through Parley's SFU on this machine. Each
// person has their own browser context. The pages' media is read through
// the debug hook window.__parleyCalls (the call's CallMedia), which the
// app sets only when localStorage "parley.debug" is "calls", as the init
// script below does; getUserMedia is counted the same way, so a test can
// tell that the customer's page never asked for a camera.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { direct, eventually, fakeMediaArgs, launch, online, screenshotDir, signedUp, watch } from './helpers.mjs';

/** @type {import('playwright-core').Browser} */
let browser;

before(async () => {
  browser = await launch(fakeMediaArgs);
});

after(async () => {
  await browser?.close();
});

/** Runs in every page before the app: the debug hook, and a count of camera requests. */
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
 * @param {string} [locale]
 */
async function person(t, first, locale = 'en-US') {
  const who = await signedUp(t, browser, first, { locale, permissions: ['camera', 'microphone'] });
  // Media on two shared cores takes its time to start; waits stay bounded.
  who.context.setDefaultTimeout(30_000);
  await who.context.addInitScript(initScript);
  return who;
}

/**
 * The frames decoded so far of each video this page receives.
 * @param {import('playwright-core').Page} page
 * @returns {Promise<{ mid: string, framesDecoded: number, trackId: string }[]>}
 */
function inboundVideo(page) {
  return page.evaluate(() => {
    const media = /** @type {any} */ (window).__parleyCalls;
    return media ? media.inboundVideo() : [];
  });
}

/** @param {import('playwright-core').Page} page */
function debugStats(page) {
  return page.evaluate(async () => {
    const media = /** @type {any} */ (window).__parleyCalls;
    const out = [];
    for (const [name, pc] of Object.entries(media.connections())) {
      if (!pc) continue;
      out.push(name, /** @type {any} */ (pc).connectionState);
      (await /** @type {any} */ (pc).getStats()).forEach((/** @type {any} */ s) => {
        if (s.type === 'outbound-rtp' || s.type === 'inbound-rtp') out.push({ type: s.type, kind: s.kind, mid: s.mid, packetsSent: s.packetsSent, packetsReceived: s.packetsReceived, framesEncoded: s.framesEncoded, framesDecoded: s.framesDecoded, q: s.qualityLimitationReason, pli: s.pliCount, nack: s.nackCount, bytes: s.bytesSent ?? s.bytesReceived });
      });
    }
    return out;
  });
}

/**
 * Waits until the page decodes video, then until it decodes more: the
 * picture is moving, not a frame that got through once.
 * @param {import('playwright-core').Page} page
 * @param {string} who
 * @param {(stream: { trackId: string }) => boolean} [which]
 * @param {import('playwright-core').Page} [sender] whose stats to show too when it fails
 */
async function decodesVideo(page, who, which = () => true, sender = undefined) {
  const total = async () => (await inboundVideo(page)).filter(which).reduce((sum, s) => sum + s.framesDecoded, 0);
  try {
    const first = await eventually(`${who} to decode video`, async () => {
      const n = await total();
      return n > 0 ? n : 0;
    }, 30_000);
    await eventually(`${who}'s decoded frames to grow past ${first}`, async () => (await total()) > first, 20_000);
  } catch (error) {
    throw new Error(`${/** @type {Error} */ (error).message}: ${JSON.stringify(await inboundVideo(page))} ${JSON.stringify(await debugStats(page))}`
      + (sender ? ` sender: ${JSON.stringify(await debugStats(sender))}` : ''));
  }
}

/**
 * @param {import('playwright-core').Page} page
 */
function callScreen(page) {
  return page.locator('section.call-screen');
}

describe('calls', () => {
  test('a video call: the callee accepts and both sides decode each other\'s video', async (t) => {
    const ann = await person(t, 'Ann');
    const ben = await person(t, 'Ben');
    const conversation = await direct(ann, ben);
    await Promise.all([ann.page.goto(`/c/${conversation.id}`), ben.page.goto(`/c/${conversation.id}`)]);
    const benTab = await ben.context.newPage();
    const benTabProblems = watch(benTab);
    t.after(() => assert.deepEqual(benTabProblems, [], 'Ben\'s second tab logged errors'));
    await benTab.goto('/');
    await Promise.all([online(ann.page), online(ben.page), online(benTab)]);

    await ann.page.getByRole('button', { name: 'Start video call', exact: true }).click();
    await callScreen(ann.page).waitFor();
    await ann.page.getByRole('heading', { name: `Call with ${ben.name}` }).waitFor();

    // Ben's devices ring (he has the app open twice); he accepts on one
    // with the keyboard (the focus starts on Accept), and the other stops.
    const ringing = ben.page.getByRole('dialog', { name: 'Incoming video call' });
    const otherRinging = benTab.getByRole('dialog', { name: 'Incoming video call' });
    await Promise.all([ringing.waitFor(), otherRinging.waitFor()]);
    await ringing.getByText(`${ann.name} is calling you.`).waitFor();
    assert.equal(await ben.page.evaluate(() => document.activeElement?.textContent), 'Accept');
    await ringing.getByRole('button', { name: 'Decline' }).waitFor();
    await ben.page.keyboard.press('Enter');
    await ringing.waitFor({ state: 'detached' });
    await otherRinging.waitFor({ state: 'detached' });
    await ben.page.getByRole('heading', { name: `Call with ${ann.name}` }).waitFor();
    assert.equal(await callScreen(benTab).count(), 0);

    try {
    await Promise.all([decodesVideo(ann.page, 'Ann'), decodesVideo(ben.page, 'Ben')]);
  } catch (error) {
    throw new Error(`${error}\nBen: ${JSON.stringify(await debugStats(ben.page))}`);
  }
    // Each side shows the other's camera in a tile with their name.
    await ann.page.locator('.video-tile[data-video="on"]').filter({ hasText: ben.name }).waitFor();
    await ben.page.locator('.video-tile[data-video="on"]').filter({ hasText: ann.name }).waitFor();

    // The SFU says who is speaking (the fake microphones beep).
    await ann.page.locator('.video-tile.is-speaking').filter({ hasText: ben.name }).waitFor();

    // The network hint comes from getStats.
    await ann.page.locator('.call-quality:is([data-quality="good"], [data-quality="fair"], [data-quality="poor"])').waitFor();

    // Ann switches to another camera and microphone: the tracks are
    // replaced without renegotiating, and Ben keeps decoding her video.
    await ann.page.getByRole('button', { name: 'Devices', exact: true }).click();
    const devices = ann.page.getByRole('group', { name: 'Devices' });
    await devices.getByLabel('Camera').selectOption({ label: 'fake_device_2' });
    await eventually('the second camera in use', () => ann.page.evaluate(() => {
      const media = /** @type {any} */ (window).__parleyCalls;
      const sent = media.connections().publish.getSenders().map((/** @type {RTCRtpSender} */ s) => s.track?.label);
      return sent.includes('fake_device_2') && media.local.get('camera').label === 'fake_device_2';
    }));
    await devices.getByLabel('Microphone').selectOption({ label: 'Fake Audio Input 2' });
    await eventually('the second microphone in use', () => ann.page.evaluate(() =>
      /** @type {any} */ (window).__parleyCalls.local.get('microphone').label === 'Fake Audio Input 2'));
    await ann.page.keyboard.press('Escape');
    await decodesVideo(ben.page, 'Ben (Ann\'s other camera)', undefined, ann.page);

    // A network change restarts ICE on both connections; media goes on.
    const ufrags = () => ann.page.evaluate(() => {
      const { publish, subscribe } = /** @type {any} */ (window).__parleyCalls.connections();
      return [publish, subscribe].map((pc) => /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)?.[1]).join(' ');
    });
    const before = await ufrags();
    await ann.page.evaluate(() => window.dispatchEvent(new Event('online')));
    await eventually('new ICE credentials on both connections', async () => {
      const [pub, sub] = (await ufrags()).split(' ');
      const [pub0, sub0] = before.split(' ');
      return pub !== pub0 && sub !== sub0;
    });
    await Promise.all([decodesVideo(ann.page, 'Ann (after the restart)'), decodesVideo(ben.page, 'Ben (after Ann\'s restart)')]);

    // The controls are toggles with their state in aria-pressed.
    const mute = ann.page.getByRole('button', { name: 'Mute', exact: true });
    assert.equal(await mute.getAttribute('aria-pressed'), 'false');
    await mute.click();
    assert.equal(await mute.getAttribute('aria-pressed'), 'true');
    assert.equal(await ann.page.evaluate(() => /** @type {any} */ (window).__parleyCalls.local.get('microphone').enabled), false);
    await ben.page.locator('.video-tile').filter({ hasText: ann.name }).getByText('Muted').waitFor();
    await mute.click();
    const camera = ann.page.getByRole('button', { name: 'Camera', exact: true });
    assert.equal(await camera.getAttribute('aria-pressed'), 'true');
    await camera.click();
    await eventually('the camera to be off', async () => await camera.getAttribute('aria-pressed') === 'false');
    await ben.page.locator('.video-tile[data-video="off"]').filter({ hasText: ann.name }).waitFor();
    await camera.click();
    await eventually('the camera to be on again', async () => await camera.getAttribute('aria-pressed') === 'true');
    await ben.page.locator('.video-tile[data-video="on"]').filter({ hasText: ann.name }).waitFor();

    // Ben shares his screen, pauses it (Ann sees "paused"), and stops.
    await ben.page.getByRole('button', { name: 'Share screen', exact: true }).click();
    const shared = ann.page.locator('.call-focus .video-tile[data-source="screen"]');
    await shared.and(ann.page.locator('[data-video="on"]')).waitFor();
    await decodesVideo(ann.page, 'Ann (Ben\'s screen)', (s) => s.trackId.endsWith(':screen'), ben.page);
    const pause = ben.page.getByRole('button', { name: 'Pause sharing', exact: true });
    await pause.click();
    await eventually('pause to be pressed', async () => await pause.getAttribute('aria-pressed') === 'true');
    await shared.getByText('Sharing paused').waitFor();
    await pause.click();
    await shared.and(ann.page.locator('[data-video="on"]')).waitFor();
    await ben.page.getByRole('button', { name: 'Share screen', exact: true }).click();
    await shared.waitFor({ state: 'detached' });

    if (screenshotDir) await screenshots(ann.page, 'call-video');

    // Ann's connection drops: the server takes her device out of the call;
    // when it returns she is back in the call as a new device, both ways.
    const firstDevice = await ann.page.evaluate(() => /** @type {any} */ (window).__parleyCalls.participantId);
    await ann.context.setOffline(true);
    await ann.page.locator('.messenger[data-connection="reconnecting"]').waitFor({ state: 'attached' });
    await ann.context.setOffline(false);
    await eventually('Ann back in the call as a new device', () => ann.page.evaluate((old) => {
      const media = /** @type {any} */ (window).__parleyCalls;
      return media.participantId !== '' && media.participantId !== old && media.state !== 'closed';
    }, firstDevice));
    await callScreen(ann.page).waitFor();
    await Promise.all([decodesVideo(ann.page, 'Ann (back)'), decodesVideo(ben.page, 'Ben (Ann back)', (s) => !s.trackId.startsWith(firstDevice))]);

    // Ann ends the call: it ends for Ben too, and the focus goes back.
    await ann.page.getByRole('button', { name: 'End call', exact: true }).click();
    await callScreen(ann.page).waitFor({ state: 'detached' });
    await callScreen(ben.page).waitFor({ state: 'detached' });
  });

  test('declining, cancelling, and the calls in Korean', async (t) => {
    const cid = await person(t, 'Cid');
    const dee = await person(t, 'Dee', 'ko-KR');
    const conversation = await direct(cid, dee);
    await Promise.all([cid.page.goto(`/c/${conversation.id}`), dee.page.goto(`/c/${conversation.id}`)]);
    await Promise.all([online(cid.page), online(dee.page)]);
    for (const name of ['음성 통화 시작', '영상 통화 시작', '도움 통화 시작']) {
      await dee.page.getByRole('button', { name, exact: true }).waitFor();
    }

    // Dee declines Cid's voice call: it ends for Cid.
    await cid.page.getByRole('button', { name: 'Start voice call', exact: true }).click();
    await callScreen(cid.page).waitFor();
    const ringing = dee.page.getByRole('dialog', { name: '음성 통화 수신' });
    await ringing.getByRole('button', { name: '수락' }).waitFor();
    await ringing.getByRole('button', { name: '거절' }).click();
    await callScreen(cid.page).waitFor({ state: 'detached' });
    // A voice call never asked for a camera.
    assert.equal(await cid.page.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0);

    // Dee calls back and gives up before Cid answers: Cid's ringing stops.
    await dee.page.getByRole('button', { name: '음성 통화 시작', exact: true }).click();
    await dee.page.getByRole('heading', { name: `${cid.name} 님과 통화` }).waitFor();
    for (const name of ['음소거', '화면 공유', '장치']) await dee.page.getByRole('button', { name, exact: true }).waitFor();
    // A voice call has no camera: no control for it, and her tile shows her initials.
    assert.equal(await dee.page.getByRole('button', { name: '카메라', exact: true }).count(), 0);
    await dee.page.locator('.video-tile[data-key="self:camera"][data-video="off"] .avatar').waitFor();
    const back = cid.page.getByRole('dialog', { name: 'Incoming voice call' });
    await back.waitFor();
    // A tab Cid opens while it rings rings too: it asks the server for the
    // live calls, since it never saw the call start.
    const late = await cid.context.newPage();
    await late.goto('/');
    const lateRing = late.getByRole('dialog', { name: 'Incoming voice call' });
    await lateRing.waitFor();
    await dee.page.getByRole('button', { name: '통화 종료', exact: true }).click();
    await back.waitFor({ state: 'detached' });
    await lateRing.waitFor({ state: 'detached' });
    await late.close();
    // The thread keeps the calls' history, after a reload too.
    await cid.page.reload();
    await cid.page.locator('.call-line').getByText('Declined voice call').waitFor();
    await cid.page.locator('.call-line').getByText('Cancelled voice call').waitFor();
    await dee.page.locator('.call-line').getByText('취소된 음성 통화').waitFor();
    await callScreen(dee.page).waitFor({ state: 'detached' });
  });

  test('a help call: the helper sees the customer\'s screen, no camera, and draws on it', async (t) => {
    const hal = await person(t, 'Hal');
    const cat = await person(t, 'Cat');
    const conversation = await direct(hal, cat);
    await Promise.all([hal.page.goto(`/c/${conversation.id}`), cat.page.goto(`/c/${conversation.id}`)]);
    await Promise.all([online(hal.page), online(cat.page)]);

    // Hal offers help from the thread's menu.
    await hal.page.getByRole('button', { name: 'Start help call', exact: true }).click();
    await hal.page.getByRole('button', { name: 'Help them (see their screen)' }).click();
    await hal.page.getByRole('heading', { name: `Help call with ${cat.name}` }).waitFor();

    const ringing = cat.page.getByRole('dialog', { name: 'Incoming help call' });
    await ringing.waitFor();
    await ringing.getByRole('button', { name: 'Accept' }).click();
    await cat.page.getByRole('heading', { name: `Help call with ${hal.name}` }).waitFor();

    // The customer has no camera control and shares the screen.
    const catScreen = callScreen(cat.page);
    await catScreen.and(cat.page.locator('[data-role="customer"]')).waitFor();
    assert.equal(await cat.page.getByRole('button', { name: 'Camera', exact: true }).count(), 0);
    await cat.page.getByRole('button', { name: 'Share screen', exact: true }).click();
    await cat.page.locator('.call-focus .video-tile[data-source="screen"][data-video="on"]').waitFor();

    // Hal receives exactly one video — the screen — and decodes it; Cat
    // receives Hal's camera.
    await decodesVideo(hal.page, 'Hal', (s) => s.trackId.endsWith(':screen'));
    const halIn = await inboundVideo(hal.page);
    assert.equal(halIn.length, 1, `Hal receives ${JSON.stringify(halIn)}`);
    assert.match(halIn[0].trackId, /:screen$/);
    await decodesVideo(cat.page, 'Cat', (s) => s.trackId.endsWith(':camera'));
    assert.equal(await cat.page.evaluate(() => /** @type {any} */ (window).__cameraRequests), 0, 'the customer\'s page asked for a camera');
    assert.ok(await hal.page.evaluate(() => /** @type {any} */ (window).__cameraRequests) > 0);

    // Hal draws a pen stroke over the screen; it shows over Cat's preview.
    await hal.page.getByRole('group', { name: 'Drawing tools' }).waitFor();
    const halCanvas = hal.page.locator('.call-focus canvas.annotation-layer.is-drawable');
    const catCanvas = cat.page.locator('.call-focus canvas.annotation-layer');
    await drag(hal.page, halCanvas);
    await eventually('the stroke on Cat\'s screen', async () => await catCanvas.getAttribute('data-strokes') === '1');
    await eventually('the stroke\'s pixels on Cat\'s screen', () => paintedPixels(catCanvas).then((n) => n > 50));
    if (screenshotDir) {
      await screenshots(hal.page, 'call-help-helper');
      await screenshots(cat.page, 'call-help-customer');
    }

    await hal.page.getByRole('button', { name: 'Undo', exact: true }).click();
    await eventually('the undo on Cat\'s screen', async () => await catCanvas.getAttribute('data-strokes') === '0');
    await eventually('no pixels left after undo', () => paintedPixels(catCanvas).then((n) => n === 0));

    await drag(hal.page, halCanvas);
    await drag(hal.page, halCanvas, 0.5);
    await eventually('two strokes on Cat\'s screen', async () => await catCanvas.getAttribute('data-strokes') === '2');
    await hal.page.getByRole('button', { name: 'Clear', exact: true }).click();
    await eventually('the clear on Cat\'s screen', async () => await catCanvas.getAttribute('data-strokes') === '0');
    await eventually('no pixels left after clear', () => paintedPixels(catCanvas).then((n) => n === 0));

    await cat.page.getByRole('button', { name: 'End call', exact: true }).click();
    await callScreen(hal.page).waitFor({ state: 'detached' });
  });
});

/**
 * Drags the mouse across the middle of a canvas.
 * @param {import('playwright-core').Page} page
 * @param {import('playwright-core').Locator} canvas
 * @param {number} [at] how far down, 0 to 1
 */
async function drag(page, canvas, at = 0.35) {
  await canvas.waitFor();
  const box = await eventually('the canvas to have a size', async () => {
    const b = await canvas.boundingBox();
    return b && b.width > 20 && b.height > 20 ? b : null;
  });
  const y = box.y + box.height * at;
  await page.mouse.move(box.x + box.width * 0.2, y);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width * (0.2 + i * 0.05), y + i * 2);
  await page.mouse.up();
}

/**
 * How many pixels of a canvas are painted.
 * @param {import('playwright-core').Locator} canvas
 * @returns {Promise<number>}
 */
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
 * The call screen in light and dark, desktop and phone.
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
