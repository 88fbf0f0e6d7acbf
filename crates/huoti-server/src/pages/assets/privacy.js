// /privacy: a person's own data, reached through a link token that the integrator issued. The
// token is in the URL fragment (#t=…), which browsers never send to any server or put in a
// Referer; the page moves it to sessionStorage and removes it from the address bar, then sends
// it only to this server's /v1/me endpoints as a bearer token.

const S = JSON.parse(document.getElementById('strings').textContent);
const fmt = (s, v = {}) => s.replace(/\{(\w+)\}/g, (_, k) => String(v[k] ?? ''));
const $ = (id) => document.getElementById(id);
const msg = $('msg');
const KEY = 'huoti.privacy.token';

const fromHash = new URLSearchParams(location.hash.slice(1)).get('t');
if (fromHash) {
  sessionStorage.setItem(KEY, fromHash);
  history.replaceState(null, '', location.pathname + location.search);
}
const token = sessionStorage.getItem(KEY);

class ApiError extends Error {
  constructor(status, code) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  const text = await r.text();
  const j = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, j?.code || `http_${r.status}`);
  return j;
}

const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
};

function showError(e) {
  msg.className = 'bad';
  msg.textContent = e instanceof ApiError && (e.status === 401 || e.status === 403) ? S.badToken : fmt(S.error, { code: e.code || e.message });
}

function renderProfile(me) {
  const dl = $('profile');
  dl.replaceChildren();
  for (const [k, v] of Object.entries(me.masked ?? me.data ?? {})) {
    if (v === null || typeof v === 'object') continue;
    dl.append(el('dt', {}, k), el('dd', {}, String(v)));
  }
  $('data').hidden = false;
}

function renderConsents(consents) {
  const ul = $('consent-list');
  ul.replaceChildren();
  const live = (consents ?? []).filter((c) => !c.withdrawn_at);
  if (!live.length) ul.append(el('li', {}, S.noConsents));
  for (const c of live) {
    const b = el('button', { type: 'button', class: 'secondary', 'aria-label': `${S.withdraw}: ${c.scope}` }, S.withdraw);
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api('DELETE', `/v1/me/consents/${encodeURIComponent(c.scope)}`);
        msg.className = 'ok';
        msg.textContent = fmt(S.withdrawn, { scope: c.scope });
        await load();
      } catch (e) {
        b.disabled = false;
        showError(e);
      }
    });
    ul.append(el('li', {}, el('span', {}, `${c.scope} · ${c.policy_version ?? ''} · ${c.recorded_at ?? ''}`), b));
  }
  $('consents').hidden = false;
}

function renderRequests(requests) {
  const ul = $('request-list');
  ul.replaceChildren();
  if (!requests?.length) ul.append(el('li', {}, S.noRequests));
  for (const r of requests ?? []) ul.append(el('li', {}, `${r.kind} · ${r.status ?? ''} · ${r.due_at ?? r.due_date ?? ''}`));
  $('rights').hidden = false;
}

async function load() {
  const me = await api('GET', '/v1/me');
  renderProfile(me);
  renderConsents(me.consents);
  renderRequests(me.requests);
}

async function ask(kind) {
  try {
    const r = await api('POST', '/v1/me/requests', { kind });
    msg.className = 'ok';
    msg.textContent = fmt(S.requested, { kind: r.kind ?? kind, due: r.due_at ?? r.due_date ?? '' });
    await load();
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
$('ask-close').addEventListener('click', () => confirm(S.confirmClose) && ask('account_closure'));

if (!token) {
  msg.className = 'bad';
  msg.textContent = S.noToken;
} else {
  msg.textContent = S.loading;
  load().then(() => (msg.textContent = ''), showError);
}
