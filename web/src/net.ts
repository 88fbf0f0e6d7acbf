// HTTP to the huoti server: timeouts (AbortController), retry with backoff on network errors,
// 5xx and 429; problem details (RFC 9457) surfaced as HuotiHttpError with the stable code.

export class HuotiHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly retryAfterS?: number,
  ) {
    super(`${status} ${code}`);
  }
}

export interface RetryOptions {
  timeoutMs: number;
  retries: number;
  baseDelayMs: number;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const id = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(id);
      reject(new DOMException('aborted', 'AbortError'));
    });
  });

async function once(url: string, init: RequestInit, timeoutMs: number, outer?: AbortSignal): Promise<unknown> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const onAbort = () => ctl.abort();
  outer?.addEventListener('abort', onAbort);
  try {
    const res = await fetch(url, { ...init, signal: ctl.signal, credentials: 'omit', cache: 'no-store' });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON */
    }
    if (!res.ok) {
      const p = (body ?? {}) as { code?: string; retry_after_s?: number };
      throw new HuotiHttpError(res.status, p.code || `http_${res.status}`, p.retry_after_s);
    }
    return body;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

/** True for failures worth retrying: network errors, timeouts, 5xx (not analysis), 429 rate limits. */
function retryable(e: unknown): boolean {
  if (e instanceof HuotiHttpError) return e.code === 'rate_limited' || (e.status >= 500 && e.status !== 503);
  return true; // TypeError (network) or AbortError from our own timeout
}

export async function request(url: string, init: RequestInit, o: RetryOptions): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    if (o.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    try {
      return await once(url, init, o.timeoutMs, o.signal);
    } catch (e) {
      if (o.signal?.aborted || attempt >= o.retries || !retryable(e)) throw e;
      const wait =
        e instanceof HuotiHttpError && e.retryAfterS
          ? e.retryAfterS * 1000
          : o.baseDelayMs * 2 ** attempt * (0.75 + Math.random() / 2);
      await sleep(Math.min(wait, 8000), o.signal);
    }
  }
}
