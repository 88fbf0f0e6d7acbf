// /privacy: a person's own data, reached through the link their service issued
// (`POST /v1/subjects/{ref}/privacy-link` → `/privacy#token=pl_…`). The token is in the URL
// fragment, which browsers never send to a server or put in a Referer; the page moves it to
// sessionStorage (this tab only), removes it from the address bar, and sends it only to this
// server's /v1/me endpoints as a bearer token.

import { $, ApiError, S, day, el, fetchJson, fmt, when } from './common.js';

const msg = $('msg');
const KEY = 'huoti.privacy.token';

const frag = new URLSearchParams(location.hash.slice(1));
const fromHash = frag.get('token') || frag.get('t');
if (fromHash) {
  sessionStorage.setItem(KEY, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem(KEY);

const api = (method, path, body) => fetchJson(method, path, { Authorization: `Bearer ${token}` }, body);
const say = (cls, text) => {
  msg.className = cls;
  msg.textContent = text;
};

function showError(e) {
  say('bad', e instanceof ApiError && e.code === 'invalid_link_token' ? S.badToken : fmt(S.error, { code: e.code || e.message }));
}

const scopeName = (s) => S[`scope_${s}`] ?? s;
const kindName = (k) => S[`kind_${k}`] ?? k;

function renderData(me) {
  const dl = $('profile');
  // Identity data arrives masked from the server (R1); it is shown as sent.
  const id = me.identity ?? {};
  const idRows = [[S.idName, id.name], [S.idNumber, id.id_number], [S.idPhone, id.phone], [S.idVia, id.via_third_party]]
    .filter(([, v]) => v)
    .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
  // Face match: that a reference exists and when it was made — the template itself is never sent.
  const ref = me.face_reference ? when(me.face_reference.created_at) : S.faceReferenceNone;
  dl.replaceChildren(el('dt', {}, S.subject), el('dd', {}, me.subject_ref), ...idRows, el('dt', {}, S.trainingImages), el('dd', {}, String(me.training_images ?? 0)), el('dt', {}, S.faceReference), el('dd', {}, ref));
  const sessions = me.sessions ?? [];
  const box = $('sessions');
  if (!sessions.length) box.replaceChildren(el('p', {}, S.noSessions));
  else
    box.replaceChildren(
      el('table', {},
        el('caption', { class: 'muted' }, S.sessions),
        el('thead', {}, el('tr', {}, ...[S.colWhen, S.colState, S.colDecision, S.colDevice].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...sessions.map((s) => el('tr', {}, el('td', {}, when(s.created_at)), el('td', {}, s.state), el('td', {}, s.decision ?? '—'), el('td', {}, s.device_info_kept ? S.yes : S.no)))),
      ),
    );
  $('data').hidden = false;
}

function renderConsents(consents) {
  const ul = $('consent-list');
  ul.replaceChildren();
  const live = (consents ?? []).filter((c) => !c.withdrawn_at);
  if (!live.length) ul.append(el('li', {}, S.noConsents));
  for (const c of live) {
    const b = el('button', { type: 'button', class: 'secondary', 'data-scope': c.scope, 'aria-label': `${S.withdraw}: ${scopeName(c.scope)}` }, S.withdraw);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api('DELETE', `/v1/me/consents/${encodeURIComponent(c.scope)}`);
        await load();
        say('ok', fmt(S.withdrawn, { scope: scopeName(c.scope) }));
      } catch (e) {
        b.disabled = false;
        showError(e);
      }
    });
    ul.append(el('li', {}, el('span', {}, `${scopeName(c.scope)} · ${S.policyVersion} ${c.policy_version} · `, when(c.granted_at)), b));
  }
  $('consents').hidden = false;
}

// A due date in a year whose holiday notice is not out yet is provisional (the server says so).
function dueText(r) {
  if (!r.due_date) return S.dueAfterCheck;
  return fmt(r.due_date_provisional ? S.dueByProvisional : S.dueBy, { due: day(r.due_date) });
}

function renderRequests(requests) {
  const ul = $('request-list');
  ul.replaceChildren();
  if (!requests?.length) ul.append(el('li', {}, S.noRequests));
  for (const r of requests ?? []) {
    const due = dueText(r);
    ul.append(el('li', {}, el('span', {}, `${kindName(r.kind)} · ${S[`status_${r.status}`] ?? r.status} · ${due}${r.overdue ? ` · ${S.overdue}` : ''}`)));
  }
  $('rights').hidden = false;
}

async function load() {
  const me = await api('GET', '/v1/me');
  renderData(me);
  renderConsents(me.consents);
  renderRequests(me.requests);
}

async function ask(kind, details = '') {
  try {
    const r = await api('POST', '/v1/me/requests', { kind, details });
    await load();
    say('ok', fmt(S.requested, { kind: kindName(r.kind), due: dueText(r) }));
  } catch (e) {
    showError(e);
  }
}

$('export').addEventListener('click', async () => {
  try {
    const data = await api('GET', '/v1/me/export');
    const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    const a = el('a', { href: url, download: 'huoti-my-data.json' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    showError(e);
  }
});
$('ask-delete').addEventListener('click', () => ask('deletion'));
$('ask-close').addEventListener('click', () => confirm(S.confirmClose) && ask('closure'));
$('complaint-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('complaint').value.trim();
  if (!text) return;
  $('complaint').value = '';
  ask('complaint', text);
});

if (!token) say('bad', S.noToken);
else {
  say('', S.loading);
  load().then(() => say('', ''), showError);
}
