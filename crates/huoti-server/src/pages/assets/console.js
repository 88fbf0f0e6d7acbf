// /console: staff tools. The staff API key is kept in sessionStorage (this tab only, gone when
// it closes), never in localStorage or a cookie, and sent only to this server. The server
// enforces each role; this page shows its refusal (403) plainly.

import { $, ApiError, S, day, el, fetchJson, fmt, when } from './common.js';

const KEY = 'huoti.console.key';

/** The purpose staff give for an access to personal data (audited with it, S2). Header values
 * are ISO-8859-1 only, so other text (Chinese) travels percent-encoded. */
function purposeHeader() {
  const p = $('purpose').value.trim();
  return /^[\x20-\x7e]*$/.test(p) ? p : encodeURIComponent(p);
}

async function api(method, path) {
  const key = sessionStorage.getItem(KEY);
  if (!key) throw new ApiError(0, 'no_key');
  const headers = { Authorization: `Bearer ${key}` };
  if ($('purpose').value.trim()) headers['huoti-purpose'] = purposeHeader();
  return fetchJson(method, path, headers);
}

function problem(out, e) {
  const p = el('p', { class: 'bad', role: 'alert' });
  if (e.code === 'no_key') p.textContent = S.noKey;
  else if (e.status === 401) p.textContent = S.unauthorized;
  else if (e.status === 403) p.textContent = fmt(S.forbidden, { code: e.code });
  else if (e.code === 'purpose_required') p.textContent = S.purposeRequired;
  else if (e.status === 404 && e.code === 'not_found') p.textContent = S.notAvailable;
  else p.textContent = fmt(S.error, { code: e.code || e.message });
  out.replaceChildren(p);
}

const COLUMNS = {
  requests: [['id', 'colId'], ['kind', 'colKind'], ['status', 'colStatus'], ['received_at', 'colReceived'], ['due_date', 'colDue']],
  complaints: [['id', 'colId'], ['status', 'colStatus'], ['received_at', 'colReceived'], ['due_date', 'colDue']],
  incidents: [['id', 'colId'], ['received_at', 'colReceived'], ['summary', 'colSummary'], ['status', 'colStatus']],
  audit: [['seq', 'colSeq'], ['at', 'colAt'], ['role', 'colRole'], ['action', 'colAction'], ['purpose', 'colPurpose']],
};

/** A cell's content: instants and dates in the reader's language and time zone. */
function cell(field, value) {
  if (value == null) return '—';
  if (field === 'received_at' || field === 'at') return when(value);
  if (field === 'due_date') return day(value);
  return String(value);
}

function table(kind, rows) {
  if (!rows.length) return el('p', {}, S.empty);
  const cols = COLUMNS[kind];
  const head = el('tr', {}, ...cols.map(([, label]) => el('th', { scope: 'col' }, S[label])));
  const body = rows.map((r) =>
    el('tr', {}, ...cols.map(([f]) => {
      const td = el('td', {}, cell(f, r[f]));
      // `overdue` is the server's judgement (China working days), not this browser's clock.
      if (f === 'due_date' && r.overdue) td.append(' ', el('strong', { class: 'bad' }, `(${S.overdue})`));
      if (f === 'due_date' && r.due_date_provisional) td.append(' ', el('em', {}, `(${S.provisional})`));
      return td;
    })),
  );
  return el('table', {}, el('caption', { class: 'muted' }, S[`${kind}Caption`] ?? S[kind]), el('thead', {}, head), el('tbody', {}, ...body));
}

for (const b of document.querySelectorAll('button[data-load]')) {
  const kind = b.dataset.load;
  const out = $(`${kind}-out`);
  b.addEventListener('click', async () => {
    try {
      // Requests and complaints: GET /v1/admin/requests (one list; complaints are kind
      // `complaint`); incidents: GET /v1/admin/incidents; the audit log: GET /v1/admin/audit.
      const path = kind === 'complaints' ? 'requests' : kind;
      const j = await api('GET', `/v1/admin/${path}`);
      let rows = Array.isArray(j) ? j : (j?.items ?? []);
      if (kind === 'requests') rows = rows.filter((r) => r.kind !== 'complaint');
      if (kind === 'complaints') rows = rows.filter((r) => r.kind === 'complaint');
      // Incidents: status = notices sent / queued (S3).
      if (kind === 'incidents') rows = rows.map((r) => ({ id: r.id, received_at: r.recorded_at, summary: r.request?.summary, status: `${r.notices_sent}/${r.notices_queued}` }));
      out.replaceChildren(table(kind, rows));
    } catch (e) {
      problem(out, e);
    }
  });
}

$('verify-audit').addEventListener('click', async () => {
  const out = $('audit-out');
  try {
    // GET /v1/admin/audit/verify → {ok, entries, first_bad_seq?, head_hash?}
    const j = await api('GET', '/v1/admin/audit/verify');
    const p = el('p', { class: j.ok ? 'ok' : 'bad', role: j.ok ? 'status' : 'alert', id: 'audit-verdict' }, j.ok ? fmt(S.auditOk, { n: j.entries }) : fmt(S.auditBroken, { at: j.first_bad_seq ?? '?' }));
    out.replaceChildren(p);
    if (j.head_hash) out.append(el('p', { class: 'muted' }, `${S.auditHead} ${j.head_hash}`));
  } catch (e) {
    problem(out, e);
  }
});

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = $('key').value.trim();
  if (!v) return;
  sessionStorage.setItem(KEY, v);
  $('key').value = '';
  $('key-msg').textContent = S.keySet;
});
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  $('key-msg').textContent = S.keyForgotten;
});
if (sessionStorage.getItem(KEY)) $('key-msg').textContent = S.keySet;

// A session's result, with its face-match outcome (issue 14). GET /v1/sessions/{id}/result is
// the integrator's own (ReadOwnSessionResults): every staff role gets 403, another integrator
// 404 — no staff duty needs one person's match outcome (least privilege, S2). Only the named
// fields are shown: the verdict holds no template and no image, and the page adds none.
function resultTable(v) {
  const rows = [
    [S.colDecision, v.decision],
    [S.colCompleted, when(v.completed_at)],
  ];
  const m = v.face_match;
  if (m) {
    rows.push(
      [S.colMatch, S[`match_${m.decision}`] ?? m.decision],
      [S.colSimilarity, m.similarity == null ? '—' : m.similarity.toFixed(3)],
      [S.colThreshold, m.threshold.toFixed(3)],
      [S.colModel, m.model],
    );
  } else {
    rows.push([S.colMatch, S.noFaceMatch]);
  }
  const body = rows.map(([label, value]) => el('tr', {}, el('th', { scope: 'row' }, label), el('td', {}, value)));
  return el('table', { id: 'result-table' }, el('caption', { class: 'muted' }, fmt(S.resultCaption, { id: v.session_id })), el('tbody', {}, ...body));
}

$('result-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = $('result-out');
  const id = $('session-id').value.trim();
  if (!id) return;
  try {
    const j = await api('GET', `/v1/sessions/${encodeURIComponent(id)}/result`);
    out.replaceChildren(resultTable(j.verdict));
  } catch (err) {
    problem(out, err);
  }
});
