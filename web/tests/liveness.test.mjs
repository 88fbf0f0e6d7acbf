// <huoti-liveness> on the server's own /demo page in Debian's Chromium with a fake camera,
// against a real `huoti serve --dev --test-mode`. Test names carry the policy clauses they prove
// (docs/POLICY.md).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CAP12_PLAN, INTEGRATOR_ORIGIN, axeSerious, consent, hintClip, launch, openDemo, shot, startHuoti, stillClip, trackStates, waitState } from './harness.mjs';

let huoti, browser;

before(async () => {
  huoti = await startHuoti();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  huoti?.stop();
});

const frameRequests = (requests) => requests.filter((r) => r.method === 'POST' && /\/frames\?/.test(r.url));
const events = (page) => page.evaluate(() => window.__events);
const shadowText = (page, sel) => page.evaluate((s) => document.querySelector('huoti-liveness').shadowRoot.querySelector(s)?.textContent ?? '', sel);
const SHORT_PLAN = { actions: [{ action: 'blink', start_ms: 1000, end_ms: 3000 }], flashes: [] };
/** The photosensitivity-safe palette (huoti_liveness::light::SAFE_PALETTE). */
const SAFE_PALETTE = [[255, 0, 255], [30, 130, 255], [40, 160, 40], [170, 130, 0], [0, 150, 160], [190, 120, 230]];

const FLASH_PLAN = {
  actions: [{ action: 'blink', start_ms: 3000, end_ms: 5000 }],
  flashes: [
    { rgb: [255, 0, 0], start_ms: 1000, end_ms: 2000 },
    { rgb: [0, 0, 255], start_ms: 2000, end_ms: 3000 },
  ],
};

test('p1_camera_refused_shows_camera_denied_and_the_server_received_no_frame', async () => {
  const denied = await launch({ denyCamera: true });
  try {
    const before = await huoti.framesReceived();
    const { page, requests, sessionId, csp } = await openDemo(denied, huoti.base, CAP12_PLAN);
    const id = await sessionId();
    await consent(page);
    await waitState(page, ['error']);
    await shot(page, 'error-camera-denied');
    const ev = await events(page);
    assert.deepEqual(ev.filter((e) => e.type === 'huoti-error').map((e) => e.detail.code), ['camera_denied']);
    assert.match(await shadowText(page, '#message'), /refused/);
    // Nothing left the page, and the server (checked server-side) received no frame.
    assert.equal(frameRequests(requests).length, 0);
    assert.equal(await huoti.framesReceived(), before);
    const r = await huoti.result(id);
    assert.equal(r.body.code, 'result_not_ready');
    assert.deepEqual(await trackStates(page), []);
    assert.deepEqual(await axeSerious(page), []);
    // "Try again" asks the host page for a new session (the demo page makes one); the element
    // starts over at consent with it.
    await page.locator('huoti-liveness #retry').click();
    await page.waitForFunction((old) => document.querySelector('huoti-liveness').getAttribute('session-id') !== old, id);
    await waitState(page, ['consent']);
    assert.equal((await events(page)).filter((e) => e.type === 'huoti-retry').length, 1);
    assert.deepEqual(csp, [], 'no CSP violation on /demo');
  } finally {
    await denied.close();
  }
});

test('c1_c2_c3_p2_l1_bona_fide_clip_verified_tracks_ended_no_device_info', { timeout: 240000 }, async () => {
  const { page, requests, context, sessionId, csp } = await openDemo(browser, huoti.base, CAP12_PLAN);
  const id = await sessionId();
  await page.waitForFunction(() => /\d|—/.test(document.querySelector('huoti-liveness').shadowRoot.querySelector('#policy-version')?.textContent ?? ''));
  await shot(page, 'consent');
  assert.deepEqual(await axeSerious(page), [], 'consent screen');
  // The version shown is the one the server publishes.
  const policy = await (await fetch(`${huoti.base}/v1/policy`)).json();
  assert.match(await shadowText(page, '#policy-version'), new RegExp(policy.version));
  await consent(page); // device-info switch left off (P2)
  const ev0 = await events(page);
  assert.equal(ev0[0].type, 'huoti-consent');
  assert.deepEqual(ev0[0].detail.scopes, ['face_capture_and_upload']);
  // L1: the agree click was recorded by the server, against the policy it publishes.
  const consents = requests.filter((r) => r.method === 'POST' && r.url.endsWith(`/v1/sessions/${id}/consent`));
  assert.equal(consents.length, 1);
  assert.deepEqual(JSON.parse(consents[0].json), { policy_version: policy.version, scopes: ['face_capture_and_upload'], channel: 'web' });
  assert.ok(ev0[0].detail.consentId, 'the server answered with a consent id');

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
  const r = await huoti.result(id);
  assert.ok(result, `no huoti-result; events ${JSON.stringify(ev)}; server ${JSON.stringify(r.body)}`);
  assert.equal(result.detail.passed, true, `server verdict ${JSON.stringify(r.body.verdict ?? r.body)}`);
  assert.match(await shadowText(page, '#headline'), /Verified/);
  assert.deepEqual(await axeSerious(page), [], 'result screen');
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');

  // P2: no device-info header was sent, and the server stored none (the signed verdict has no
  // `device`); the check still verified.
  const frames = frameRequests(requests);
  // The server's capture profile (issue 15): about 6 frames a second over 10.6 s (the rates
  // are checked in capture_profile_uploads_have_its_width_quality_and_rates_…).
  assert.ok(frames.length > 50, `${frames.length} frames`);
  for (const f of frames) assert.ok(!Object.keys(f.headers).some((h) => h.startsWith('huoti-')), JSON.stringify(f.headers));
  assert.equal(r.status, 200);
  assert.equal(r.body.verdict.decision, 'live');
  assert.equal(r.body.verdict.device, undefined);
  assert.deepEqual(csp, [], 'no CSP violation');
  await context.close();
});

test('p2_device_info_on_is_sent_and_c2_cancel_stops_tracks_with_flash_plan', { timeout: 60000 }, async () => {
  const { page, requests, context } = await openDemo(browser, huoti.base, FLASH_PLAN, { lang: 'zh-CN' });
  await shot(page, 'consent-zh-CN');
  await consent(page, { deviceInfo: true });
  assert.deepEqual((await events(page))[0].detail.scopes, ['face_capture_and_upload', 'device_info']);
  const recorded = requests.find((r) => r.method === 'POST' && r.url.endsWith('/consent'));
  assert.deepEqual(JSON.parse(recorded.json).scopes, ['face_capture_and_upload', 'device_info']);
  await waitState(page, ['capture'], 20000);
  await page.waitForFunction(() => !document.querySelector('huoti-liveness').shadowRoot.querySelector('.flash').hidden, null, { timeout: 5000 });
  await shot(page, 'flash');
  // Scanned here, not in the timed bona fide run: axe blocks the main thread for a while.
  assert.deepEqual(await axeSerious(page), [], 'capture screen');
  assert.match(await shadowText(page, '#prompt'), /屏幕颜色/);
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

test('network_cut_mid_upload_is_retried_and_the_check_completes', { timeout: 120000 }, async () => {
  const { page, context, sessionId } = await openDemo(browser, huoti.base, SHORT_PLAN);
  const id = await sessionId();
  let aborted = 0;
  let seen = 0;
  await page.route('**/frames?*', (route) => (++seen % 4 === 2 && aborted < 8 ? (aborted++, route.abort('connectionreset')) : route.continue()));
  await consent(page);
  await waitState(page, ['result', 'error'], 90000);
  assert.ok(aborted > 0);
  const ev = await events(page);
  assert.ok(ev.some((e) => e.type === 'huoti-result'), JSON.stringify(ev));
  const r = await huoti.result(id);
  assert.equal(r.status, 200);
  assert.ok(r.body.verdict.frames >= 25, `frames analysed: ${r.body.verdict.frames}`);
  await context.close();
});

test('network_down_mid_upload_gives_a_clear_error_then_sending_the_rest_completes', { timeout: 120000 }, async () => {
  const { page, context, sessionId, requests } = await openDemo(browser, huoti.base, SHORT_PLAN);
  const id = await sessionId();
  // The network goes down after the first 10 frames reached the server.
  let passed = 0;
  await page.route('**/frames?*', (route) => (passed++ < 10 ? route.continue() : route.abort('internetdisconnected')));
  await consent(page);
  const t0 = Date.now();
  await waitState(page, ['error'], 60000);
  assert.ok(Date.now() - t0 < 60000, 'never a hang');
  await shot(page, 'error-network');
  const ev = await events(page);
  assert.deepEqual(ev.filter((e) => e.type === 'huoti-error').map((e) => e.detail), [{ code: 'network', resumable: true }]);
  assert.match(await shadowText(page, '#message'), /still on this device/);
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  assert.deepEqual(await axeSerious(page), [], 'error screen');
  // Back online: "Send the rest" sends only what the server lacks, on the same session.
  await page.unroute('**/frames?*');
  const before = frameRequests(requests).length;
  await page.locator('huoti-liveness #resume').click();
  await waitState(page, ['result'], 90000);
  assert.ok((await events(page)).some((e) => e.type === 'huoti-result'));
  const r = await huoti.result(id);
  assert.equal(r.status, 200);
  const captured = new Set(frameRequests(requests).map((f) => new URL(f.url).searchParams.get('seq'))).size;
  assert.equal(r.body.verdict.frames, captured, 'every captured frame reached the server');
  assert.ok(frameRequests(requests).length - before < captured, 'the resumed upload skipped frames already stored');
  await context.close();
});

test('c3_still_photo_camera_is_not_verified', { timeout: 240000 }, async () => {
  const still = await launch({ clip: stillClip() });
  try {
    const { page, sessionId } = await openDemo(still, huoti.base, CAP12_PLAN);
    const id = await sessionId();
    await consent(page);
    await waitState(page, ['result', 'error'], 200000);
    await shot(page, 'result-not-verified');
    const ev = await events(page);
    const result = ev.find((e) => e.type === 'huoti-result');
    assert.ok(result, JSON.stringify(ev));
    assert.equal(result.detail.passed, false);
    assert.match(await shadowText(page, '#headline'), /Not verified/);
    const r = await huoti.result(id);
    assert.notEqual(r.body.verdict.decision, 'live');
    for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  } finally {
    await still.close();
  }
});

test('c2_removing_the_element_mid_capture_releases_the_camera', { timeout: 60000 }, async () => {
  const { page, requests, context } = await openDemo(browser, huoti.base, SHORT_PLAN);
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

test('reduced_flash_choice_with_a_flash_plan_gets_a_new_session_with_safe_light_steps_before_the_camera', { timeout: 30000 }, async () => {
  const { page, context, sessionId } = await openDemo(browser, huoti.base, FLASH_PLAN);
  const first = await sessionId();
  const el = page.locator('huoti-liveness');
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  await el.locator('#reduced-flash').check();
  await el.locator('#agree').click();
  // The host (the demo page) answers huoti-retry with a new session, then consent is asked again.
  await page.waitForFunction((old) => document.querySelector('huoti-liveness').getAttribute('session-id') !== old, first);
  await waitState(page, ['consent']);
  const ev = await events(page);
  assert.deepEqual(ev.map((e) => e.type), ['huoti-retry']);
  assert.equal(ev[0].detail.reducedFlash, true);
  // The demo keeps the recorded clip's light steps; the server redrew them in the safe profile.
  const safe = await page.evaluate(() => document.querySelector('huoti-liveness').challenge);
  assert.equal(safe.reduced_flash, true);
  assert.equal(safe.transition_ms, 300);
  assert.equal(safe.flashes.length, FLASH_PLAN.flashes.length, JSON.stringify(safe.flashes));
  for (const f of safe.flashes) assert.ok(SAFE_PALETTE.some((c) => c.join() === f.rgb.join()), `${f.rgb} is not a safe colour`);
  assert.deepEqual(safe.actions, FLASH_PLAN.actions, 'the clip keeps its actions');
  assert.equal(await el.locator('#reduced-flash').isChecked(), true, 'the choice is remembered');
  assert.deepEqual(await trackStates(page), [], 'the camera was not opened');
  await context.close();
});

test('reduced_flash_choice_shows_the_safe_light_profile_never_nothing', { timeout: 60000 }, async () => {
  // No fixed challenge: the server draws the plan and decides its light profile.
  const { page, context, sessionId } = await openDemo(browser, huoti.base, null);
  const first = await sessionId();
  const challenge = () => page.evaluate(() => document.querySelector('huoti-liveness').challenge);
  const standard = await challenge();
  assert.equal(standard.reduced_flash, false);
  assert.ok(standard.flashes.length >= 4, 'a production plan always has a light step');
  const el = page.locator('huoti-liveness');
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  await el.locator('#reduced-flash').check();
  await el.locator('#agree').click();
  await page.waitForFunction((old) => document.querySelector('huoti-liveness').getAttribute('session-id') !== old, first);
  await waitState(page, ['consent']);
  // The new plan still has its light step, in the safe profile: safe colours, fades.
  const safe = await challenge();
  assert.equal(safe.reduced_flash, true);
  assert.equal(safe.transition_ms, 300);
  assert.ok(safe.flashes.length >= 4, JSON.stringify(safe.flashes));
  for (const f of safe.flashes) assert.ok(SAFE_PALETTE.some((c) => c.join() === f.rgb.join()), `${f.rgb} is not a safe colour`);
  // Agreeing again starts the capture (no loop of new sessions): the choice is honoured.
  await consent(page);
  await waitState(page, ['capture'], 20000);
  // Record the overlay's colour on every animation frame until the light steps are over.
  const watch = page.evaluate((endMs) => new Promise((res) => {
    const flash = document.querySelector('huoti-liveness').shadowRoot.querySelector('.flash');
    const seen = [];
    const t0 = performance.now();
    const step = () => {
      if (!flash.hidden) seen.push(getComputedStyle(flash).backgroundColor);
      if (performance.now() - t0 < endMs) requestAnimationFrame(step);
      else res(seen);
    };
    step();
  }), safe.flashes.at(-1).end_ms + 500);
  for (const [i, f] of safe.flashes.slice(0, 3).entries()) {
    const rgb = `rgb(${f.rgb.join(', ')})`;
    await page.waitForFunction((c) => getComputedStyle(document.querySelector('huoti-liveness').shadowRoot.querySelector('.flash')).backgroundColor === c, rgb, { timeout: 10000 });
    await shot(page, `safe-light-${i + 1}`);
  }
  const seen = await watch;
  assert.ok(seen.length > 0, 'the light was shown');
  const steady = new Set(seen.filter((c) => safe.flashes.some((f) => c === `rgb(${f.rgb.join(', ')})`)));
  assert.ok(steady.size >= 3, `the safe colours were shown: ${[...steady]}`);
  assert.ok(seen.some((c) => !steady.has(c)), 'colours fade into each other (no hard cut)');
  await page.locator('huoti-liveness #cancel').click();
  await waitState(page, ['cancelled']);
  await context.close();
});

test('guide_hints_too_dark_too_bright_too_far_off_centre_several_faces', { timeout: 60000 }, async () => {
  const want = { dark: /Too dark/, bright: /Too bright/, far: /Move closer/, side: /centre/, two: /one face/ };
  const b = await launch({ clip: hintClip() });
  try {
    // A long capture window, so the clip's five segments all pass under the guide.
    const { page } = await openDemo(b, huoti.base, { actions: [{ action: 'blink', start_ms: 1000, end_ms: 10000 }], flashes: [] });
    await page.evaluate(() => {
      window.__hints = [];
      const poll = setInterval(() => {
        const root = document.querySelector('huoti-liveness')?.shadowRoot;
        const h = root?.querySelector('#hint');
        if (!h) return;
        const off = root.querySelector('.stage')?.classList.contains('off');
        if (h.textContent && window.__hints.at(-1)?.text !== h.textContent) window.__hints.push({ text: h.textContent, off, live: h.getAttribute('aria-live') });
      }, 50);
      document.addEventListener('huoti-cancel', () => clearInterval(poll));
    });
    await consent(page);
    await waitState(page, ['capture'], 20000);
    const shots = new Set();
    for (const [kind, re] of Object.entries(want)) {
      await page.waitForFunction((src) => window.__hints.some((h) => new RegExp(src).test(h.text)), re.source, { timeout: 12000 })
        .catch(async () => assert.fail(`${kind}: hints seen ${JSON.stringify(await page.evaluate(() => window.__hints))}`));
      if (!shots.has(kind) && new RegExp(re.source).test(await shadowText(page, '#hint'))) {
        shots.add(kind);
        await shot(page, `guide-hint-${kind}`);
      }
    }
    // Hints sit in a live region, and the oval turns amber with them.
    for (const h of await page.evaluate(() => window.__hints)) assert.deepEqual([h.off, h.live], [true, 'polite'], JSON.stringify(h));
    await page.locator('huoti-liveness #cancel').click();
  } finally {
    await b.close();
  }
});

test('camera_picker_offers_every_camera_and_remembers_the_choice_c2_old_camera_released', { timeout: 60000 }, async () => {
  // Chromium's fake device is one camera; a second ("rear") is listed, and opening it opens the
  // fake one, so the picker's whole path runs.
  const init = () => {
    const md = navigator.mediaDevices;
    const enumerate = md.enumerateDevices.bind(md);
    md.enumerateDevices = async () => [...(await enumerate()), { kind: 'videoinput', deviceId: 'test-rear', label: 'Rear camera', groupId: 'g' }];
    const gum = md.getUserMedia;
    md.getUserMedia = (c) => {
      window.__asked = [...(window.__asked ?? []), c];
      return gum(c?.video?.deviceId?.exact === 'test-rear' ? { video: true, audio: false } : c);
    };
  };
  const { page, context, sessionId } = await openDemo(browser, huoti.base, SHORT_PLAN, { init });
  const first = await sessionId();
  await consent(page);
  await waitState(page, ['capture'], 20000);
  const select = page.locator('huoti-liveness #camera');
  await select.waitFor({ timeout: 5000 });
  const labels = await select.locator('option').allTextContents();
  assert.ok(labels.length >= 2 && labels.includes('Rear camera'), JSON.stringify(labels));
  await shot(page, 'guide-camera-picker');
  await select.selectOption('test-rear');
  // A new session (the challenge clock restarts with the new camera); the old camera is off.
  await page.waitForFunction((old) => document.querySelector('huoti-liveness').getAttribute('session-id') !== old, first);
  for (const t of await trackStates(page)) assert.equal(t.readyState, 'ended');
  assert.equal(await page.evaluate(() => localStorage.getItem('huoti-liveness.camera')), 'test-rear');
  await consent(page);
  await waitState(page, ['capture'], 20000);
  const constraints = await page.evaluate(() => window.__asked);
  assert.equal(constraints.at(-1).video.deviceId.exact, 'test-rear', JSON.stringify(constraints));
  assert.ok(constraints[0].video.facingMode === 'user', 'the first check asked for the front camera (C1)');
  await context.close();
});

test('element_on_an_integrators_page_on_another_origin_works_through_cors', { timeout: 60000 }, async () => {
  const s = await huoti.demoSession(SHORT_PLAN);
  // A page fulfilled by the test has no address, so Chromium's local-network-access check would
  // treat it as public and refuse loopback; real integrator pages and servers are both public.
  const b = await launch({ extraArgs: ['--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,BlockInsecurePrivateNetworkRequests'] });
  try {
    const context = await b.newContext({ viewport: { width: 600, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      window.__events = [];
      for (const t of ['huoti-consent', 'huoti-error', 'huoti-result'])
        document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
    });
    // The integrator's own page (another origin): loads the SDK from huoti and points the element at it.
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head><body><main><h1>Shop checkout</h1>
  <script type="module" src="${huoti.base}/sdk/huoti-liveness.js"></script>
  <huoti-liveness server="${huoti.base}" session-id="${s.session_id}" token="${s.client_token}" lang="en" challenge='${JSON.stringify(s.challenge)}'></huoti-liveness>
  </main></body></html>`;
    await page.route(`${INTEGRATOR_ORIGIN}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    await page.goto(`${INTEGRATOR_ORIGIN}/checkout`);
    await page.waitForFunction(() => document.querySelector('huoti-liveness')?.shadowRoot?.querySelector('#agree'));
    await consent(page);
    await waitState(page, ['result', 'error'], 45000);
    const ev = await events(page);
    assert.deepEqual(ev.filter((e) => e.type === 'huoti-error'), [], JSON.stringify(ev));
    assert.ok(ev.some((e) => e.type === 'huoti-result'), JSON.stringify(ev));
    assert.equal((await huoti.result(s.session_id)).status, 200);
  } finally {
    await b.close();
  }
});

test('a1_policy_changed_before_the_agree_click_asks_again_and_opens_no_camera', { timeout: 30000 }, async () => {
  const { page, context, requests } = await openDemo(browser, huoti.base, SHORT_PLAN);
  // The server answers the first agree click as it does when a new version was published meanwhile.
  let refused = 0;
  await page.route('**/consent', (route) =>
    refused++ === 0
      ? route.fulfill({ status: 409, contentType: 'application/problem+json', body: JSON.stringify({ type: 'urn:huoti:problem:policy_outdated', title: 'Policy outdated', status: 409, code: 'policy_outdated', detail: 'the current version is newer' }) })
      : route.continue(),
  );
  const el = page.locator('huoti-liveness');
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  await el.locator('#agree').click();
  await el.locator('#notice').waitFor();
  assert.match(await shadowText(page, '#notice'), /changed/);
  await waitState(page, ['consent']);
  assert.deepEqual(await events(page), [], 'nothing recorded, nothing started');
  assert.deepEqual(await trackStates(page), [], 'no camera before a recorded consent (L1)');
  assert.equal(await el.locator('#scope-face').isChecked(), false, 'the person agrees afresh');
  await consent(page);
  await waitState(page, ['capture'], 20000);
  assert.equal(requests.filter((r) => r.url.endsWith('/consent')).length, 2);
  await page.locator('huoti-liveness #cancel').click();
  await context.close();
});

// Issue 16: while an action window is open, the server's answer to each frame upload says what
// is still missing, and the element shows it in the person's language. cap12 does not turn to
// the left in its first 10 s, so a left-turn window there gets the server's prompt the whole time.
test('server_prompt_for_the_open_window_is_shown_in_en_and_zh_cn', { timeout: 120000 }, async () => {
  const plan = { actions: [{ action: 'turn_left', start_ms: 1000, end_ms: 8000 }], flashes: [] };
  const want = { en: /^(Turn your head to your left|Turn a little further)$/, 'zh-CN': /^(请向左转头|请再多转一点)$/ };
  for (const [lang, re] of Object.entries(want)) {
    const { page, context } = await openDemo(browser, huoti.base, plan, { lang });
    const answers = [];
    page.on('response', async (r) => {
      if (/\/frames\?/.test(r.url()) && r.status() === 200) answers.push(await r.json().catch(() => null));
    });
    await consent(page);
    await waitState(page, ['capture'], 20000);
    await page
      .waitForFunction(() => !!document.querySelector('huoti-liveness').shadowRoot.querySelector('#action-hint')?.textContent, null, { timeout: 20000 })
      .catch(async () => assert.fail(`no prompt shown; answers: ${JSON.stringify(answers.slice(-5))}`));
    const text = await shadowText(page, '#action-hint');
    assert.match(text, re, lang);
    await shot(page, `action-hint-${lang}`);
    // The text comes from the server's answers: a prompt for step 0, the left turn.
    const hinted = answers.filter((a) => a?.hint);
    assert.ok(hinted.length > 0, JSON.stringify(answers.slice(-3)));
    for (const a of hinted) assert.deepEqual([a.hint.step, a.hint.action], [0, 'turn_left'], JSON.stringify(a));
    assert.equal(await page.evaluate(() => document.querySelector('huoti-liveness').shadowRoot.querySelector('#action-hint').getAttribute('aria-live')), 'polite');
    await page.locator('huoti-liveness #cancel').click();
    await waitState(page, ['cancelled']);
    await context.close();
  }
});

// Issue 14 on the demo page: with "face match" ticked, the first check enrols this browser's demo
// person and asks the separate, optional face_comparison consent (C6: the check works without
// it); the next check asks to compare, and the same recording again is a replay: not live, never
// compared. On a server of its own, so no other test's cap12 frames count
// as a replay of this one.
test('c3_c6_demo_face_match_asks_its_own_consent_enrols_on_a_live_check_and_never_compares_a_replay', { timeout: 300000 }, async () => {
  const own = await startHuoti();
  try {
    const { page, requests, context, sessionId, csp } = await openDemo(browser, own.base, CAP12_PLAN);
    const el = page.locator('huoti-liveness');
    // Without face match the consent screen does not mention it.
    assert.equal(await el.locator('#scope-face-comparison').count(), 0);
    const first = await sessionId();
    await page.locator('#face-match').check(); // a new session, asking to enrol
    await page.waitForFunction((old) => {
      const e = document.querySelector('huoti-liveness');
      return e.getAttribute('session-id') !== old && e.shadowRoot.querySelector('#scope-face-comparison');
    }, first);
    const id = await sessionId();
    const created = requests.filter((r) => r.method === 'POST' && r.url.endsWith('/demo/session')).map((r) => JSON.parse(r.json));
    const enrolBody = created.at(-1);
    assert.equal(enrolBody.enrol_reference, true, JSON.stringify(enrolBody));
    assert.equal(enrolBody.face_match, undefined);
    assert.match(enrolBody.subject_ref, /^demo-[0-9a-f]{16}$/);
    // C6: asked apart, never ticked for the person, not needed to agree.
    assert.equal(await el.locator('#scope-face-comparison').isChecked(), false);
    await el.locator('#scope-face').check();
    await el.locator('#scope-upload').check();
    assert.equal(await el.locator('#agree').isDisabled(), false, 'agreeing does not need face comparison');
    await el.locator('#scope-face-comparison').check();
    await shot(page, 'face-match-consent');
    assert.deepEqual(await axeSerious(page), [], 'consent screen with face comparison');
    await el.locator('#agree').click();
    await page.waitForFunction(() => window.__events.some((e) => e.type === 'huoti-consent' || e.type === 'huoti-error'));
    const consents = requests.filter((r) => r.method === 'POST' && r.url.endsWith(`/v1/sessions/${id}/consent`));
    assert.deepEqual(JSON.parse(consents.at(-1).json).scopes, ['face_capture_and_upload', 'face_comparison']);

    await waitState(page, ['result', 'error'], 240000);
    const r = await (await fetch(`${own.base}/demo/sessions/${id}/result`)).json();
    assert.equal(r.verdict?.decision, 'live', JSON.stringify(r.verdict ?? r));
    assert.equal(r.verdict.face_reference_enrolled, true, 'the live check enrolled the reference');
    assert.equal(r.verdict.face_match, undefined, 'nothing to compare with on the first check');
    await page.waitForFunction(() => document.getElementById('match').textContent.length > 0);
    assert.match(await page.locator('#match').textContent(), /Reference enrolled/);
    await shot(page, 'face-match-enrolled');

    // The next check compares with that reference, for the same demo person.
    await page.locator('#another').click();
    await page.waitForFunction((old) => document.querySelector('huoti-liveness').getAttribute('session-id') !== old, id);
    const matchBody = requests.filter((r) => r.method === 'POST' && r.url.endsWith('/demo/session')).map((r) => JSON.parse(r.json)).at(-1);
    assert.deepEqual({ face_match: matchBody.face_match, enrol_reference: matchBody.enrol_reference, subject_ref: matchBody.subject_ref },
      { face_match: true, enrol_reference: undefined, subject_ref: enrolBody.subject_ref });
    await page.waitForFunction(() => document.querySelector('huoti-liveness').shadowRoot.querySelector('#scope-face-comparison'));
    // The same recording again is a replay of the first check's frames: not live, so no face is
    // ever compared (the comparison runs on live sessions only) and the page shows no match.
    const second = await sessionId();
    const seen = (await events(page)).length;
    await consent(page, { faceComparison: true });
    await page.waitForFunction((n) => window.__events.slice(n).some((e) => e.type === 'huoti-result' || e.type === 'huoti-error'), seen, { timeout: 240000 });
    const again = (await (await fetch(`${own.base}/demo/sessions/${second}/result`)).json()).verdict;
    assert.notEqual(again?.decision, 'live', JSON.stringify(again));
    assert.ok(again.reasons.some((r) => r.code === 'replayed_frames'), JSON.stringify(again.reasons));
    assert.equal(again.face_match, undefined, 'never compared on a session that is not live');
    assert.equal(await page.locator('#match').textContent(), '');
    assert.deepEqual(csp, [], 'no CSP violation');
    await context.close();
  } finally {
    own.stop();
  }
});

// Issue 15, "send less": the server states a capture profile in each challenge (frame width,
// JPEG quality, frames per second by part) and the element follows it. The uploads are read in
// the page (a wrapped fetch: the JPEG's own SOF and quantisation headers, and its size). A second
// check on the same page plays an older server (the profile removed from the challenge): the
// element then sends as before, 480 px at 0.85, 15 fps — the reference the bytes are compared with.
test('capture_profile_uploads_have_its_width_quality_and_rates_and_without_one_as_before', { timeout: 420000 }, async () => {
  const own = await startHuoti(); // its own server: the same recording twice is a replay elsewhere
  try {
    const run = async (oldServer) => {
      const init = `(${recordUploads})(${JSON.stringify({ oldServer })})`;
      const { page, context, sessionId } = await openDemo(browser, own.base, CAP12_PLAN, { init });
      const id = await sessionId();
      const plan = await page.evaluate(() => document.querySelector('huoti-liveness').challenge);
      await consent(page);
      await waitState(page, oldServer ? ['analysing', 'result', 'error'] : ['result', 'error'], 240000);
      const raw = await page.evaluate(() => window.__uploads);
      await context.close();
      // One per sequence number (a retried upload is the same frame).
      const uploads = [...new Map(raw.map((u) => [Number(/[?&]seq=(\d+)/.exec(u.url)[1]), u])).values()].map((u) => ({
        tMs: Number(/[?&]t_ms=(\d+)/.exec(u.url)[1]),
        size: u.size,
        dims: jpegSize(Uint8Array.from(u.head)),
        quality: jpegQuality(Uint8Array.from(u.head)),
      }));
      uploads.sort((a, b) => a.tMs - b.tMs);
      const bytes = uploads.reduce((n, u) => n + u.size, 0);
      const seconds = plan.total_ms / 1000;
      console.log(`${oldServer ? 'no profile (old server)' : `profile ${JSON.stringify(plan.capture)}`}: ${uploads.length} frames over ${seconds} s = ${(uploads.length / seconds).toFixed(1)} fps, ${bytes} bytes = ${(bytes / seconds / 1000).toFixed(1)} kB/s, ${(bytes / uploads.length / 1000).toFixed(1)} kB/frame, ${uploads[0]?.dims?.join('×')} q${uploads[0]?.quality}`);
      return { id, plan, uploads, bytes, seconds };
    };

    const withProfile = await run(false);
    const p = withProfile.plan.capture;
    assert.ok(p, 'the server states a capture profile');
    const { uploads } = withProfile;
    for (const u of uploads) {
      assert.deepEqual(u.dims, [p.width, (p.width * 3) / 4], `scaled down to the profile width (480×360 camera): ${JSON.stringify(u)}`);
      assert.equal(u.quality, p.jpeg_quality, 'encoded at the profile quality');
    }
    // The rule: at most one frame per slot of the 1 / fps grid.
    const fpsAt = (t) => Math.max(1, (p.spans.find((s) => t >= s.start_ms && t < s.end_ms) ?? { fps: p.idle_fps }).fps);
    for (let i = 1; i < uploads.length; i++) {
      const [a, b, f] = [uploads[i - 1].tMs, uploads[i].tMs, fpsAt(uploads[i].tMs)];
      assert.ok(Math.floor((b * f) / 1000) > Math.floor((a * f) / 1000), `frames at ${a} and ${b} ms share a slot of ${f} fps`);
    }
    // How many: the profile's rates over the challenge (Σ span × fps + rest × idle fps; the
    // 15 fps camera is faster than every rate), within ±25 % for the camera's jitter.
    let nominal = 0;
    for (let t = 0; t < withProfile.plan.total_ms; t++) nominal += fpsAt(t) / 1000;
    console.log(`profile rates: ${nominal.toFixed(1)} frames wanted, ${uploads.length} sent`);
    assert.ok(Math.abs(uploads.length - nominal) <= 0.25 * nominal, `${uploads.length} frames sent, the profile asks for ${nominal.toFixed(1)}`);
    // Still a live check: the server judged what it asked for.
    const r = await (await fetch(`${own.base}/demo/sessions/${withProfile.id}/result`)).json();
    assert.equal(r.verdict?.decision, 'live', JSON.stringify(r.verdict ?? r));
    assert.equal(r.verdict.frames, uploads.length, 'every frame sent was judged');

    // An older server (no profile): every frame as before.
    const old = await run(true);
    assert.equal(old.plan.capture, undefined);
    for (const u of old.uploads) assert.deepEqual([u.dims, u.quality], [[480, 360], 85], JSON.stringify(u));
    assert.ok(old.uploads.length >= 0.75 * 15 * old.seconds, `${old.uploads.length} frames at 15 fps`);
    const [kBps, refKBps] = [withProfile.bytes / withProfile.seconds / 1000, old.bytes / old.seconds / 1000];
    console.log(`capture upload: ${kBps.toFixed(1)} kB/s with the profile vs ${refKBps.toFixed(1)} kB/s without = ${(kBps / refKBps).toFixed(3)}×`);
    assert.ok(kBps < refKBps / 2, 'the profile sends much less');
  } finally {
    own.stop();
  }
});

/** Page init script: records every frame upload (URL, size, first 2 kB of the JPEG); with `oldServer`, drops `capture` from the session's challenge, as an older server would send it. */
function recordUploads({ oldServer }) {
  window.__uploads = [];
  const orig = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    if (/\/frames\?/.test(url) && init?.body instanceof Blob) {
      const head = new Uint8Array(await init.body.slice(0, 2048).arrayBuffer());
      window.__uploads.push({ url, size: init.body.size, head: Array.from(head) });
    }
    const res = await orig(input, init);
    if (oldServer && /\/demo\/session$/.test(url) && res.ok) {
      const j = await res.json();
      delete j.challenge.capture;
      return new Response(JSON.stringify(j), { status: res.status, headers: res.headers });
    }
    return res;
  };
}

/** JPEG marker segments before the scan: [marker, body without the length]. */
function* jpegSegments(b) {
  for (let at = 2; at + 4 <= b.length && b[at] === 0xff && b[at + 1] !== 0xda; ) {
    const len = (b[at + 2] << 8) | b[at + 3];
    yield [b[at + 1], b.subarray(at + 4, at + 2 + len)];
    at += 2 + len;
  }
}

/** [width, height] from the JPEG's SOF header. */
function jpegSize(b) {
  for (const [m, s] of jpegSegments(b)) if (m >= 0xc0 && m <= 0xc3) return [(s[3] << 8) | s[4], (s[1] << 8) | s[2]];
  return null;
}

/** The IJG quality whose scaled standard luminance table (ITU T.81 Annex K; libjpeg, which Chromium encodes with) is the file's first table. */
function jpegQuality(b) {
  const LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
  const sorted = (a) => [...a].sort((x, y) => x - y).join(',');
  for (const [m, s] of jpegSegments(b)) {
    if (m !== 0xdb || s[0] !== 0) continue;
    const stored = sorted(s.subarray(1, 65));
    for (let q = 1; q <= 100; q++) {
      const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
      if (sorted(LUMA.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))))) === stored) return q;
    }
    return null;
  }
  return null;
}
