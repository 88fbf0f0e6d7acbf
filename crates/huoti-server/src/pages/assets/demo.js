// /demo: plays the integrator's part. Sessions come from POST /demo/session, which creates them
// on the server with the demo integrator's key (the key never reaches the page). A fixed
// challenge for a recorded clip can be given in the fragment, `#challenge=<JSON>`; the server
// accepts it only in test mode.
import '/sdk/huoti-liveness.js';
import { S, fmt } from './common.js';

const lang = document.documentElement.lang;
const host = document.getElementById('host');
const status = document.getElementById('status');
const another = document.getElementById('another');

function fixedChallenge() {
  const m = /(?:^#|&)challenge=([^&]*)/.exec(location.hash);
  if (!m) return undefined;
  // Sent as given, light steps included: with reduced_flash the server redraws them in the
  // photosensitivity-safe profile (it decides the profile; the light step is never dropped).
  return JSON.parse(decodeURIComponent(m[1]));
}

async function newSession(reducedFlash = false) {
  const body = { reduced_flash: reducedFlash };
  const fixed = fixedChallenge();
  if (fixed) body.fixed_challenge = fixed;
  const r = await fetch('/demo/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (r.status !== 201) throw new Error(j.code || `http_${r.status}`);
  return { sessionId: j.session_id, token: j.client_token, challenge: j.challenge };
}

let el = null;
async function start(reducedFlash = false) {
  status.textContent = S.loading;
  another.hidden = true;
  let s;
  try {
    s = await newSession(reducedFlash);
  } catch (e) {
    status.textContent = fmt(S.failed, { code: e.message });
    return;
  }
  status.textContent = '';
  if (el) return el.setSession(s);
  el = document.createElement('huoti-liveness');
  el.setAttribute('lang', lang);
  el.setAttribute('session-id', s.sessionId);
  el.setAttribute('token', s.token);
  el.challenge = s.challenge;
  // "Try again" in the element: the host (this page) makes a new session.
  el.addEventListener('huoti-retry', (e) => start(!!e.detail?.reducedFlash));
  el.addEventListener('huoti-result', (e) => {
    status.textContent = e.detail.passed ? S.passed : S.failedResult;
    another.hidden = false;
  });
  el.addEventListener('huoti-error', (e) => (status.textContent = fmt(S.error, { code: e.detail.code })));
  host.append(el);
}

another.addEventListener('click', () => start());
start();
