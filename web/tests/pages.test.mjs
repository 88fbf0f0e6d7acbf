// The server's own pages (/demo, /privacy, /console) in Chromium: accessible (axe-core: no
// serious or critical violation), in zh-CN and en, under their CSP (no violation), and the
// privacy link token kept out of the address bar, the Referer and every other request.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { axeSerious, launch, shot, startHuoti } from './harness.mjs';

let huoti, browser;

before(async () => {
  huoti = await startHuoti();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  huoti?.stop();
});

async function open(path, lang) {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, locale: lang === 'zh-CN' ? 'zh-CN' : 'en-US' });
  const page = await context.newPage();
  const csp = [];
  const requests = [];
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && csp.push(m.text()));
  page.on('request', (r) => requests.push({ url: r.url(), headers: r.headers() }));
  await page.goto(`${huoti.base}${path}`);
  return { context, page, csp, requests };
}

for (const lang of ['en', 'zh-CN']) {
  test(`pages_are_accessible_and_csp_clean_in_${lang}`, { timeout: 60000 }, async () => {
    for (const path of ['/demo', '/privacy', '/console', '/privacy/policy']) {
      const { context, page, csp } = await open(`${path}?lang=${lang}`, lang);
      await page.waitForLoadState('networkidle');
      assert.equal(await page.evaluate(() => document.documentElement.lang), lang);
      assert.deepEqual(await axeSerious(page), [], `${path} (${lang})`);
      await shot(page, `page-${path.slice(1).replace('/', '-')}-${lang}`);
      assert.deepEqual(csp, [], `${path}: CSP violations`);
      await context.close();
    }
  });
}

test('privacy_page_link_token_leaves_the_address_bar_and_goes_only_to_the_api_as_a_bearer', { timeout: 30000 }, async () => {
  const token = 'lt_not-a-real-token-123';
  const { context, page, requests } = await open(`/privacy?lang=en#t=${token}`, 'en');
  await page.waitForFunction(() => /invalid or has expired/i.test(document.getElementById('msg').textContent));
  await shot(page, 'page-privacy-bad-token');
  assert.equal(new URL(page.url()).hash, '', 'the token is removed from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('huoti.privacy.token')), token);
  for (const r of requests) {
    assert.ok(!r.url.includes(token), `token in a URL: ${r.url}`);
    assert.ok(!(r.headers.referer ?? '').includes(token), 'token in a Referer');
    if (r.headers.authorization?.includes(token)) assert.ok(new URL(r.url).pathname.startsWith('/v1/me'), r.url);
  }
  assert.equal(await page.evaluate(() => document.getElementById('msg').getAttribute('role')), 'status');
  await context.close();
});

test('r1_r4_r5_r7_privacy_page_shows_masked_data_exports_withdraws_and_takes_requests', { timeout: 60000 }, async () => {
  const ref = 'cust-00012345-abcdef';
  const idNumber = '11010519491231002X';
  const link = await huoti.privacyLink(ref, ['face_capture_and_upload', 'device_info'], { name: '张三', id_number: idNumber, phone: '13812345678' });
  assert.ok(link.url.startsWith('/privacy#'), link.url);
  const { context, page, csp, requests } = await open(`${link.url.replace('/privacy#', '/privacy?lang=en#')}`, 'en');
  await page.locator('#consents').waitFor();
  await shot(page, 'page-privacy-data-en');
  // R1: the data, masked on screen.
  const profile = await page.locator('#profile').textContent();
  assert.ok(!profile.includes(ref), `the reference is masked: ${profile}`);
  // Identity data too: the ID number and phone only ever appear masked (R1).
  assert.ok(profile.includes('110***********002X') && profile.includes('138****5678') && profile.includes('张*'), profile);
  assert.ok(!profile.includes(idNumber) && !profile.includes('13812345678') && !profile.includes('张三'), profile);
  assert.match(await page.locator('#consent-list').textContent(), /Device model/);
  assert.deepEqual(await axeSerious(page), []);
  // Export: a JSON download of the same data.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export').click()]);
  assert.equal(download.suggestedFilename(), 'huoti-my-data.json');
  const exported = JSON.parse(await (await import('node:fs/promises')).readFile(await download.path(), 'utf8'));
  assert.deepEqual(exported.consents.map((c) => c.scope).sort(), ['device_info', 'face_capture_and_upload']);
  // R4: withdraw device info; the list no longer offers it.
  await page.locator('#consent-list button[data-scope="device_info"]').click();
  await page.waitForFunction(() => !document.querySelector('#consent-list button[data-scope="device_info"]'));
  assert.match(await page.locator('#msg').textContent(), /Withdrawn/);
  // R5/R7: ask for deletion, then account closure (confirmed), then a complaint: each listed.
  await page.locator('#ask-delete').click();
  await page.waitForFunction(() => /Deletion/.test(document.getElementById('request-list').textContent));
  page.once('dialog', (d) => d.accept());
  await page.locator('#ask-close').click();
  await page.waitForFunction(() => /Account closure/.test(document.getElementById('request-list').textContent));
  await page.locator('#complaint').fill('The check kept failing in daylight.');
  await page.locator('#complaint-form button[type=submit]').click();
  await page.waitForFunction(() => /Complaint/.test(document.getElementById('request-list').textContent));
  await shot(page, 'page-privacy-requests-en');
  assert.deepEqual(await axeSerious(page), []);
  assert.deepEqual(csp, []);
  for (const r of requests) assert.ok(!r.url.includes(link.token), `token in a URL: ${r.url}`);
  // The server holds them, with due dates, for staff.
  const officer = huoti.staffKey('privacy_officer');
  const staff = await (await fetch(`${huoti.base}/v1/admin/requests`, { headers: { Authorization: `Bearer ${officer}`, 'huoti-purpose': 'web test' } })).json();
  const kinds = staff.map((r) => r.kind);
  for (const k of ['deletion', 'closure', 'complaint']) assert.ok(kinds.includes(k), JSON.stringify(staff));
  await context.close();
});

test('privacy_page_without_a_token_says_how_to_get_one', async () => {
  const { context, page } = await open('/privacy?lang=zh-CN', 'zh-CN');
  await page.waitForFunction(() => document.getElementById('msg').textContent.length > 0);
  assert.match(await page.locator('#msg').textContent(), /访问码/);
  await context.close();
});

test('console_keeps_the_key_in_session_storage_and_shows_the_servers_refusal', { timeout: 30000 }, async () => {
  const { context, page, requests } = await open('/console?lang=en', 'en');
  await page.locator('[data-load="requests"]').click();
  await page.waitForFunction(() => document.getElementById('requests-out').textContent.length > 0);
  assert.match(await page.locator('#requests-out').textContent(), /Paste a staff API key/);
  // An integrator key is not a staff key: the server refuses, the page says so plainly.
  await page.locator('#key').fill(huoti.apiKey);
  await page.locator('#login button[type=submit]').click();
  assert.equal(await page.locator('#key').inputValue(), '', 'the field is cleared');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('huoti.console.key')), huoti.apiKey);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'never in localStorage');
  for (const kind of ['requests', 'complaints', 'incidents']) {
    await page.locator(`[data-load="${kind}"]`).click();
    await page.waitForFunction((k) => /\((40[134])|\b40[134]\b|not_found|forbidden|unauthorized/.test(document.getElementById(`${k}-out`).textContent), kind);
    assert.equal(await page.locator(`#${kind}-out [role=alert]`).count(), 1);
  }
  // The audit log needs the auditor's permission: an integrator key is refused (403).
  await page.locator('#verify-audit').click();
  await page.waitForFunction(() => /403/.test(document.getElementById('audit-out').textContent));
  assert.match(await page.locator('#audit-out').textContent(), /role may not do this \(403 forbidden\)/);
  await shot(page, 'page-console-refused');
  assert.deepEqual(await axeSerious(page), []);
  const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/admin/'));
  assert.ok(api.length >= 4);
  for (const r of api) assert.equal(r.headers.authorization, `Bearer ${huoti.apiKey}`);
  await context.close();
});

test('s2_console_audit_verification_with_an_auditor_key', { timeout: 30000 }, async () => {
  // One audited staff action first: a privacy officer publishes a (non-material) policy version.
  const officer = huoti.staffKey('privacy_officer');
  const current = await (await fetch(`${huoti.base}/v1/policy`)).json();
  const text = await (await fetch(`${huoti.base}/v1/policy/text`)).text();
  const r = await fetch(`${huoti.base}/v1/admin/policy-versions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${officer}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ version: `${current.version}-web`, text: `${text}\n`, material_change: false, privacy_contact: current.privacy_contact, purpose: 'web console test' }),
  });
  assert.equal(r.status, 201, await r.text());
  const auditor = huoti.staffKey('auditor');
  const { context, page } = await open('/console?lang=zh-CN', 'zh-CN');
  await page.locator('#key').fill(auditor);
  await page.locator('#login button[type=submit]').click();
  await page.locator('#verify-audit').click();
  await page.waitForFunction(() => document.getElementById('audit-verdict'));
  const server = await (await fetch(`${huoti.base}/v1/admin/audit/verify`, { headers: { Authorization: `Bearer ${auditor}` } })).json();
  assert.ok(server.ok && server.entries >= 1, JSON.stringify(server));
  assert.equal(await page.locator('#audit-verdict').textContent(), `审计链完整：已校验 ${server.entries} 条记录。`);
  await page.locator('[data-load="audit"]').click();
  await page.waitForFunction(() => document.querySelector('#audit-out table'));
  const rows = await page.locator('#audit-out tbody tr').allTextContents();
  assert.ok(rows.some((r) => /privacy_officer/.test(r) && /web console test/.test(r) && /publish_policy_version/.test(r)), JSON.stringify(rows));
  await shot(page, 'page-console-audit-zh-CN');
  assert.deepEqual(await axeSerious(page), []);
  // Rights requests need a privacy officer's or operator's permission, not the auditor's.
  await page.locator('[data-load="requests"]').click();
  await page.waitForFunction(() => document.querySelector('#requests-out [role=alert]'));
  await context.close();
});

// Issue 14: a session's face-match outcome in the console, for the one role that may see it —
// the integrator that made the session, with its own key (GET /v1/sessions/{id}/result); a
// staff role gets the server's 403 and no figure (least privilege, S2; docs/API.md).
test('s2_console_shows_a_sessions_face_match_to_its_integrator_and_nothing_to_staff', { timeout: 240000 }, async () => {
  const { sessionId, verdict } = await huoti.liveMatchSession('console-match-1');
  assert.equal(verdict.decision, 'live', JSON.stringify(verdict));
  const m = verdict.face_match;
  assert.equal(m?.decision, 'match', JSON.stringify(verdict));
  const { context, page, csp } = await open('/console?lang=en', 'en');
  const show = async (key) => {
    await page.locator('#key').fill(key);
    await page.locator('#login button[type=submit]').click();
    await page.locator('#session-id').fill(sessionId);
    await page.locator('#result-form button[type=submit]').click();
  };
  await show(huoti.apiKey);
  await page.locator('#result-table').waitFor();
  const text = await page.locator('#result-table').textContent();
  for (const want of ['Liveness decisionlive', 'Face matchsame person', `Similarity${m.similarity.toFixed(3)}`, `Threshold${m.threshold.toFixed(3)}`, `Model${m.model}`])
    assert.ok(text.includes(want), `${want} in ${text}`);
  assert.ok(!/\[|\{|base64|jpeg/i.test(text), `figures only: ${text}`);
  await page.locator('#result-table').scrollIntoViewIfNeeded();
  await shot(page, 'page-console-face-match-en');
  assert.deepEqual(await axeSerious(page), []);
  // A staff role: the server's refusal, and nothing of the verdict on the page.
  for (const role of ['auditor', 'privacy_officer']) {
    await show(huoti.staffKey(role));
    await page.waitForFunction(() => document.querySelector('#result-out [role=alert]'));
    assert.match(await page.locator('#result-out').textContent(), /role may not do this \(403 forbidden\)/, role);
    assert.equal(await page.locator('#result-table').count(), 0, role);
  }
  assert.deepEqual(csp, []);
  await context.close();
});

/** `rfc3339` as the hour and minute a reader in `timeZone` sees (e.g. "2:39"), from Node's Intl. */
function clock(rfc3339, lang, timeZone) {
  const parts = new Intl.DateTimeFormat(lang, { timeStyle: 'short', timeZone }).formatToParts(Date.parse(rfc3339));
  const part = (type) => parts.find((p) => p.type === type)?.value;
  return `${part('hour')}:${part('minute')}`;
}

test('privacy_and_console_pages_show_times_in_the_readers_language_and_time_zone', { timeout: 60000 }, async () => {
  const RAW = /\d{4}-\d{2}-\d{2}(T|\b)/; // an RFC 3339 instant or an ISO date, as the API sends them
  const ref = 'cust-time-zones-1';
  const link = await huoti.privacyLink(ref, ['face_capture_and_upload'], null);
  const me = await (await fetch(`${huoti.base}/v1/me`, { headers: { Authorization: `Bearer ${link.token}` } })).json();
  const created = me.sessions[0].created_at;
  assert.match(created, /T.*Z$/, 'the API sends RFC 3339 UTC');
  // Kathmandu is UTC+05:45: its minutes never equal UTC's, so a raw or UTC rendering cannot pass.
  for (const [lang, locale, timeZone] of [['en', 'en-US', 'Asia/Kathmandu'], ['zh-CN', 'zh-CN', 'America/Los_Angeles']]) {
    const context = await browser.newContext({ locale, timezoneId: timeZone });
    const page = await context.newPage();
    await page.goto(`${huoti.base}${link.url.replace('/privacy#', `/privacy?lang=${lang}#`)}`);
    await page.locator('#sessions time').first().waitFor();
    const session = await page.locator('#sessions time').first();
    assert.equal(await session.getAttribute('datetime'), created, 'the machine value stays in <time datetime>');
    const shown = await session.textContent();
    assert.ok(!RAW.test(shown), `${lang}: raw timestamp shown: ${shown}`);
    assert.ok(shown.includes(clock(created, locale, timeZone)), `${lang}/${timeZone}: ${shown} lacks the local time ${clock(created, locale, timeZone)}`);
    assert.ok(!shown.includes(clock(created, locale, 'UTC')), `${lang}: ${shown} is UTC, not ${timeZone}`);
    assert.ok(lang === 'en' ? /[A-Z][a-z]{2} \d{1,2}, \d{4}/.test(shown) : /\d{4}年\d{1,2}月\d{1,2}日/.test(shown), `${lang}: ${shown}`);
    const consent = await page.locator('#consent-list time').first().textContent();
    assert.ok(!RAW.test(consent), consent);
    // A complaint's deadline is a calendar date: shown in the page's language, never shifted a day.
    await page.locator('#complaint').fill(`time zones ${lang}`);
    await page.locator('#complaint-form button[type=submit]').click();
    await page.waitForFunction(() => document.getElementById('request-list').textContent.length > 20);
    const mine = await (await fetch(`${huoti.base}/v1/me`, { headers: { Authorization: `Bearer ${link.token}` } })).json();
    const due = mine.requests.find((r) => r.kind === 'complaint').due_date;
    const [y, m, d] = due.split('-').map(Number);
    const requests = await page.locator('#request-list').textContent();
    assert.ok(!requests.includes(due), `raw date shown: ${requests}`);
    const dayShown = lang === 'en' ? `${new Intl.DateTimeFormat('en', { month: 'short', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d))} ${d}, ${y}` : `${y}年${m}月${d}日`;
    assert.ok(requests.includes(dayShown), `${lang}: ${requests} lacks ${dayShown}`);
    await shot(page, `page-privacy-times-${lang}`);
    await context.close();
  }
  // The console's audit log, for an auditor in Kathmandu: one audited staff read first.
  const officer = huoti.staffKey('privacy_officer');
  const listed = await fetch(`${huoti.base}/v1/admin/requests`, { headers: { Authorization: `Bearer ${officer}`, 'huoti-purpose': 'time zone test' } });
  assert.equal(listed.status, 200);
  const auditor = huoti.staffKey('auditor');
  const context = await browser.newContext({ locale: 'en-US', timezoneId: 'Asia/Kathmandu' });
  const page = await context.newPage();
  await page.goto(`${huoti.base}/console?lang=en`);
  await page.locator('#key').fill(auditor);
  await page.locator('#login button[type=submit]').click();
  await page.locator('[data-load="audit"]').click();
  await page.locator('#audit-out tbody time').first().waitFor();
  const at = await page.locator('#audit-out tbody time').first();
  const raw = await at.getAttribute('datetime');
  const text = await at.textContent();
  assert.ok(!RAW.test(text) && text.includes(clock(raw, 'en-US', 'Asia/Kathmandu')), `${raw} shown as ${text}`);
  await context.close();
});
