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
