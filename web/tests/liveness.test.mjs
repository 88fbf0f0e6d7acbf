// <huoti-liveness> in Debian's Chromium with a fake camera, against a real `huoti serve`.
// Test names carry the policy clauses they prove (../shared/POLICY.md).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP12_PLAN, axeSerious, consent, launch, openElement, shot, startHuoti, startPageServer, stillClip, trackStates, waitState } from './harness.mjs';

let huoti, pages, browser;

before(async () => {
  huoti = await startHuoti();
  pages = await startPageServer(huoti.base);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await pages?.close();
  huoti?.stop();
});

const frameRequests = (requests) => requests.filter((r) => r.method === 'POST' && /\/frames\?/.test(r.url));
const events = (page) => page.evaluate(() => window.__events);

test('p1_camera_refused_shows_camera_denied_and_uploads_nothing', async () => {
  const denied = await launch({ denyCamera: true });
  try {
    const s = await huoti.createSession({ fixed_challenge: CAP12_PLAN });
    const before = await huoti.framesReceived();
    const { page, requests } = await openElement(denied, pages.url, s);
    await consent(page);
    await waitState(page, ['error']);
    await shot(page, 'error-camera-denied');
    const ev = await events(page);
    assert.deepEqual(ev.filter((e) => e.type === 'huoti-error').map((e) => e.detail.code), ['camera_denied']);
    assert.match(await page.locator('huoti-liveness #message').textContent(), /refused/);
    // Nothing left the page, and the server (checked server-side) received no frame.
    assert.equal(frameRequests(requests).length, 0);
    assert.equal(await huoti.framesReceived(), before);
    const r = await huoti.result(s.session_id);
    assert.equal(r.body.code, 'result_not_ready');
    assert.deepEqual(await trackStates(page), []);
    assert.deepEqual(await axeSerious(page), []);
    // "Try again" asks the host page for a new session; the element starts over at consent.
    await page.evaluate(() => document.addEventListener('huoti-retry', () => (window.__retried = true)));
    await page.locator('huoti-liveness #retry').click();
    await page.waitForFunction(() => window.__retried === true);
    const s2 = await huoti.createSession({ fixed_challenge: CAP12_PLAN });
    await page.evaluate((s) => document.querySelector('huoti-liveness').setSession({ sessionId: s.session_id, token: s.client_token, challenge: s.challenge }), s2);
    await waitState(page, ['consent']);
  } finally {
    await denied.close();
  }
});

test('c1_c2_c3_p2_l1_bona_fide_clip_verified_tracks_ended_no_device_info', { timeout: 240000 }, async () => {
  const s = await huoti.createSession({ fixed_challenge: CAP12_PLAN });
  const { page, requests, context } = await openElement(browser, pages.url, s);
  await page.waitForFunction(() => document.querySelector('huoti-liveness')?.shadowRoot?.querySelector('#agree'));
  await shot(page, 'consent');
  assert.deepEqual(await axeSerious(page), [], 'consent screen');
  assert.match(await page.locator('huoti-liveness #policy-version').textContent(), /2026-11/);
  await consent(page); // device-info switch left off (P2)
  const ev0 = await events(page);
  assert.equal(ev0[0].type, 'huoti-consent');
  assert.deepEqual(ev0[0].detail.scopes, ['face_capture', 'face_upload']);
  assert.equal(ev0[0].detail.policyVersion, '2026-11');

  await waitState(page, ['capture'], 20000);
  await page.waitForTimeout(600);
  await shot(page, 'guide');
  await page.waitForFunction(() => /mouth/.test(document.querySelector('huoti-liveness').shadowRoot.querySelector('#prompt')?.textContent ?? ''), null, { timeout: 10000 });
  await shot(page, 'challenge-open-mouth');
  const live = page.locator('huoti-liveness #prompt');
  assert.equal(await live.getAttribute('aria-live'), 'polite');
  assert.equal(await live.getAttribute('role'), 'status');
  await page.waitForFunction(() => /right/.test(document.querySelector('huoti-liveness').shadowRoot.querySelector('#prompt')?.textContent ?? ''), null, { timeout: 15000 });
  await shot(page, 'challenge-turn-right');

  await waitState(page, ['uploading', 'analysing', 'result', 'error'], 20000);
  // C2: the camera is released the moment capture ends, before the upload finishes.
  const tracks = await trackStates(page);
  assert.ok(tracks.length >= 1);
  for (const t of tracks) assert.deepEqual({ readyState: t.readyState, active: t.active }, { readyState: 'ended', active: false });

  await waitState(page, ['result', 'error'], 180000);
  await shot(page, 'result');
  const ev = await events(page);
  const result = ev.find((e) => e.type === 'huoti-result');
  const r = await huoti.result(s.session_id);
  assert.ok(result, `no huoti-result; events ${JSON.stringify(ev)}; server ${JSON.stringify(r.body)}`);
  assert.equal(result.detail.passed, true, `server verdict ${JSON.stringify(r.body.verdict ?? r.body)}`);
  assert.match(await page.locator('huoti-liveness #headline').textContent(), /Verified/);
  assert.deepEqual(await axeSerious(page), [], 'result screen');
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');

  // P2: no device-info header was sent, and the server stored none; the check still verified.
  const frames = frameRequests(requests);
  assert.ok(frames.length > 100, `${frames.length} frames`);
  for (const f of frames) assert.ok(!Object.keys(f.headers).some((h) => h.startsWith('huoti-')), JSON.stringify(f.headers));
  assert.equal(r.status, 200);
  assert.equal(r.body.verdict.decision, 'live');
  assert.equal(r.body.verdict.device, undefined);
  await context.close();
});

test('p2_device_info_on_is_sent_and_c2_cancel_stops_tracks_with_flash_plan', { timeout: 60000 }, async () => {
  const s = await huoti.createSession({
    fixed_challenge: {
      actions: [{ action: 'blink', start_ms: 3000, end_ms: 5000 }],
      flashes: [
        { rgb: [255, 0, 0], start_ms: 1000, end_ms: 2000 },
        { rgb: [0, 0, 255], start_ms: 2000, end_ms: 3000 },
      ],
    },
  });
  const { page, requests, context } = await openElement(browser, pages.url, s, { lang: 'zh-CN' });
  await page.waitForFunction(() => document.querySelector('huoti-liveness')?.shadowRoot?.querySelector('#agree'));
  await shot(page, 'consent-zh-CN');
  await consent(page, { deviceInfo: true });
  await waitState(page, ['capture'], 20000);
  await page.waitForFunction(() => !document.querySelector('huoti-liveness').shadowRoot.querySelector('.flash').hidden, null, { timeout: 5000 });
  await shot(page, 'flash');
  // Scanned here, not in the timed bona fide run: axe blocks the main thread for a while.
  assert.deepEqual(await axeSerious(page), [], 'capture screen');
  assert.match(await page.locator('huoti-liveness #prompt').textContent(), /屏幕颜色/);
  await page.locator('huoti-liveness #cancel').click();
  await waitState(page, ['cancelled']);
  await shot(page, 'cancelled');
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  const ev = await events(page);
  assert.ok(ev.some((e) => e.type === 'huoti-cancel'));
  // P2 on: frames carry the OS type header (Chromium's userAgentData).
  const frames = frameRequests(requests);
  assert.ok(frames.length > 0);
  assert.ok(frames.every((f) => f.headers['huoti-os-type']), JSON.stringify(frames[0].headers));
  // C2: nothing is captured after cancel.
  const n = frameRequests(requests).length;
  await page.waitForTimeout(1000);
  assert.equal(frameRequests(requests).length, n);
  await context.close();
});

const SHORT_PLAN = { actions: [{ action: 'blink', start_ms: 1000, end_ms: 3000 }], flashes: [] };

test('network_cut_mid_upload_is_retried_and_the_check_completes', { timeout: 120000 }, async () => {
  const s = await huoti.createSession({ fixed_challenge: SHORT_PLAN });
  const { page, context } = await openElement(browser, pages.url, s);
  let aborted = 0;
  let seen = 0;
  await page.route('**/frames?*', (route) => (++seen % 4 === 2 && aborted < 8 ? (aborted++, route.abort('connectionreset')) : route.continue()));
  await consent(page);
  await waitState(page, ['result', 'error'], 90000);
  assert.ok(aborted > 0);
  const ev = await events(page);
  assert.ok(ev.some((e) => e.type === 'huoti-result'), JSON.stringify(ev));
  const r = await huoti.result(s.session_id);
  assert.equal(r.status, 200);
  assert.ok(r.body.verdict.frames >= 25, `frames analysed: ${r.body.verdict.frames}`);
  await context.close();
});

test('network_down_gives_a_clear_error_never_a_hang', { timeout: 120000 }, async () => {
  const s = await huoti.createSession({ fixed_challenge: SHORT_PLAN });
  const { page, context } = await openElement(browser, pages.url, s);
  await page.route('**/v1/sessions/**', (route) => route.abort('internetdisconnected'));
  await consent(page);
  const t0 = Date.now();
  await waitState(page, ['error'], 60000);
  await shot(page, 'error-network');
  const ev = await events(page);
  assert.deepEqual(ev.filter((e) => e.type === 'huoti-error').map((e) => e.detail.code), ['network']);
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  assert.ok(Date.now() - t0 < 60000);
  await context.close();
});

test('c3_still_photo_camera_is_not_verified', { timeout: 240000 }, async () => {
  const still = await launch({ clip: stillClip() });
  try {
    const s = await huoti.createSession({ fixed_challenge: CAP12_PLAN });
    const { page } = await openElement(still, pages.url, s);
    await consent(page);
    await waitState(page, ['result', 'error'], 200000);
    await shot(page, 'result-not-verified');
    const ev = await events(page);
    const result = ev.find((e) => e.type === 'huoti-result');
    assert.ok(result, JSON.stringify(ev));
    assert.equal(result.detail.passed, false);
    assert.match(await page.locator('huoti-liveness #headline').textContent(), /Not verified/);
    const r = await huoti.result(s.session_id);
    assert.notEqual(r.body.verdict.decision, 'live');
    for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  } finally {
    await still.close();
  }
});

test('c2_removing_the_element_mid_capture_releases_the_camera', { timeout: 60000 }, async () => {
  const s = await huoti.createSession({ fixed_challenge: SHORT_PLAN });
  const { page, requests, context } = await openElement(browser, pages.url, s);
  await consent(page);
  await waitState(page, ['capture'], 20000);
  await page.waitForTimeout(500);
  await page.evaluate(() => document.querySelector('huoti-liveness').remove());
  const tracks = await trackStates(page);
  assert.ok(tracks.length >= 1);
  for (const t of tracks) assert.equal(t.readyState, 'ended');
  const n = frameRequests(requests).length;
  await page.waitForTimeout(1000);
  assert.equal(frameRequests(requests).length, n, 'no frame after removal');
  await context.close();
});

test('reduced_flash_choice_with_a_flash_plan_asks_the_host_for_a_new_session_before_the_camera', { timeout: 30000 }, async () => {
  const s = await huoti.createSession({
    fixed_challenge: {
      actions: [{ action: 'blink', start_ms: 3000, end_ms: 5000 }],
      flashes: [
        { rgb: [255, 0, 0], start_ms: 1000, end_ms: 2000 },
        { rgb: [0, 0, 255], start_ms: 2000, end_ms: 3000 },
      ],
    },
  });
  const { page, context } = await openElement(browser, pages.url, s);
  const el = page.locator('huoti-liveness');
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  await el.locator('#reduced-flash').check();
  await el.locator('#agree').click();
  await waitState(page, ['waiting']);
  const ev = await events(page);
  assert.deepEqual(ev.map((e) => e.type), ['huoti-consent', 'huoti-retry']);
  assert.equal(ev[1].detail.reducedFlash, true);
  assert.deepEqual(await trackStates(page), [], 'the camera was not opened');
  await context.close();
});
