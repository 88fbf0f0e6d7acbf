// What the server's pages share: their strings (put in the page by the server, in its
// language), a template filler, DOM helpers, and JSON calls to this server's API whose
// refusals arrive as an ApiError carrying the problem's stable code.

export const S = JSON.parse(document.getElementById('strings').textContent);
export const fmt = (s, v = {}) => s.replace(/\{(\w+)\}/g, (_, k) => String(v[k] ?? ''));
export const $ = (id) => document.getElementById(id);

export const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...kids);
  return e;
};

// Times reach the pages as RFC 3339 UTC instants ("2026-12-04T08:54:10.32Z") and deadlines as
// calendar dates ("2026-12-04", a mainland-China working-day count). People read them in the
// page's language and their own time zone; the machine value stays in <time datetime>.
const lang = () => document.documentElement.lang || navigator.language || 'en';

/** An instant as a <time> in the reader's language and time zone (the raw text if unparsable). */
export function when(rfc3339) {
  const t = Date.parse(rfc3339 ?? '');
  if (Number.isNaN(t)) return document.createTextNode(rfc3339 ?? '—');
  const text = new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short' }).format(t);
  return el('time', { datetime: rfc3339, title: new Date(t).toISOString() }, text);
}

/** A calendar date in the reader's language. A date is a day, not an instant: no time-zone shift. */
export function day(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd ?? '');
  if (!m) return ymd ?? '—';
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeZone: 'UTC' }).format(Date.UTC(+m[1], +m[2] - 1, +m[3]));
}

export class ApiError extends Error {
  constructor(status, code) {
    super(code);
    this.status = status;
    this.code = code;
  }
}

/** A call to this server only (no cache, no cookies); `body`, when given, goes as JSON. */
export async function fetchJson(method, path, headers, body) {
  const h = body === undefined ? headers : { ...headers, 'Content-Type': 'application/json' };
  const r = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
  const text = await r.text();
  let j = null;
  try {
    j = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!r.ok) throw new ApiError(r.status, j?.code || `http_${r.status}`);
  return j;
}
