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
const faceMatch = document.getElementById('face-match');
const match = document.getElementById('match');

// Face match needs a person: the demo keeps one per browser (a random reference, standing in for
// an account id) and remembers whether a reference was enrolled for it.
const PERSON = 'huoti.demo.person';
const ENROLLED = 'huoti.demo.enrolled';
const remembered = (k) => {
  try {
    return localStorage.getItem(k);
  } catch {
    return null;
  }
};
const remember = (k, v) => {
  try {
    localStorage.setItem(k, v);
  } catch {
    /* storage blocked: enrol again next time */
  }
};
function demoPerson() {
  let p = remembered(PERSON);
  if (!p) {
    p = `demo-${Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('')}`;
    remember(PERSON, p);
  }
  return p;
}

function fixedChallenge() {
  const m = /(?:^#|&)challenge=([^&]*)/.exec(location.hash);
  if (!m) return undefined;
  // Sent as given, light steps included: with reduced_flash the server redraws them in the
  // photosensitivity-safe profile (it decides the profile; the light step is never dropped).
  return JSON.parse(decodeURIComponent(m[1]));
}

async function newSession(reducedFlash = false) {
  const body = { reduced_flash: reducedFlash };
  if (faceMatch.checked) {
    // First live check: enrol; once a reference exists, compare with it.
    body.subject_ref = demoPerson();
    if (remembered(ENROLLED) === body.subject_ref) body.face_match = true;
    else body.enrol_reference = true;
  }
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
  match.textContent = '';
  another.hidden = true;
  let s;
  try {
    s = await newSession(reducedFlash);
  } catch (e) {
    status.textContent = fmt(S.failed, { code: e.message });
    return;
  }
  status.textContent = '';
  if (!el) el = document.createElement('huoti-liveness');
  // The element asks the separate face-comparison consent only for a session that compares.
  el.toggleAttribute('face-comparison', faceMatch.checked);
  if (el.isConnected) return el.setSession(s);
  el.setAttribute('lang', lang);
  el.setAttribute('session-id', s.sessionId);
  el.setAttribute('token', s.token);
  el.challenge = s.challenge;
  // "Try again" in the element: the host (this page) makes a new session.
  el.addEventListener('huoti-retry', (e) => start(!!e.detail?.reducedFlash));
  el.addEventListener('huoti-result', (e) => {
    status.textContent = e.detail.passed ? S.passed : S.failedResult;
    another.hidden = false;
    if (faceMatch.checked) void showMatch(e.detail.sessionId);
  });
  el.addEventListener('huoti-error', (e) => (status.textContent = fmt(S.error, { code: e.detail.code })));
  host.append(el);
}

/** What the integrator's backend learns about the face (the signed verdict's `face_match`). */
async function showMatch(id) {
  const r = await fetch(`/demo/sessions/${encodeURIComponent(id)}/result`);
  const v = (await r.json().catch(() => ({}))).verdict;
  if (!v) return;
  if (v.face_match) {
    const m = v.face_match;
    match.textContent = fmt(S.matchResult, {
      decision: S[m.decision] ?? m.decision,
      similarity: m.similarity == null ? '—' : m.similarity.toFixed(3),
      threshold: m.threshold.toFixed(3),
    });
  } else if (v.face_reference_enrolled === true) {
    remember(ENROLLED, demoPerson());
    match.textContent = S.enrolled;
  } else if (v.face_reference_enrolled === false) {
    match.textContent = S.notEnrolled;
  }
}

another.addEventListener('click', () => start());
faceMatch.addEventListener('change', () => start());
start();
