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
export function retryable(e: unknown): boolean {
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

/** One frame waiting to be stored: kept until the server has it (resumable uploads). */
export interface Pending {
  seq: number;
  tMs: number;
  blob: Blob;
}

/**
 * Frame uploads, at most `concurrency` in flight. A frame leaves memory only once the server
 * stored it (200, or `duplicate_frame` for a retried upload it already had). When the network
 * keeps failing (after `request`'s own retries) the queue *stalls* and keeps its frames, so
 * `resume()` later sends only what is missing; a refusal (4xx) is `fatal` and final.
 */
export class Uploader {
  private queue: Pending[] = [];
  private inflight = 0;
  private waiters: (() => void)[] = [];
  stalled = false;
  /** When the queue last stalled (performance.now()). */
  stalledAt = 0;
  fatal: unknown = null;
  stored = 0;
  total = 0;

  constructor(
    private readonly send: (p: Pending) => Promise<unknown>,
    private readonly onChange: () => void,
    private readonly concurrency = 3,
  ) {}

  add(p: Pending) {
    this.total++;
    this.queue.push(p);
    this.pump();
  }

  /** After a stall: try the frames still held. */
  resume() {
    this.stalled = false;
    this.pump();
  }

  /** Frames not yet stored. */
  get left(): number {
    return this.queue.length + this.inflight;
  }

  /** Resolves when nothing is in flight and the queue is empty, stalled or failed. */
  idle(): Promise<void> {
    return new Promise((res) => {
      this.waiters.push(res);
      this.settle();
    });
  }

  private settle() {
    if (this.inflight === 0 && (this.queue.length === 0 || this.stalled || this.fatal)) {
      const w = this.waiters;
      this.waiters = [];
      w.forEach((f) => f());
    }
  }

  private pump() {
    while (!this.stalled && !this.fatal && this.inflight < this.concurrency && this.queue.length) {
      const p = this.queue.shift()!;
      this.inflight++;
      this.send(p)
        .then(
          () => void this.stored++,
          (e: unknown) => {
            if (e instanceof HuotiHttpError && e.code === 'duplicate_frame') return void this.stored++;
            if (e instanceof DOMException && e.name === 'AbortError') return; // cancelled
            if (retryable(e)) {
              this.queue.unshift(p);
              if (!this.stalled) this.stalledAt = performance.now();
              this.stalled = true;
            } else this.fatal ??= e;
          },
        )
        .finally(() => {
          this.inflight--;
          this.onChange();
          this.pump();
          this.settle();
        });
    }
  }
}

/** `GET /v1/policy` (public): the policy the person is asked to agree to. */
export interface PolicyInfo {
  version: string;
  digest?: string;
  material_change?: boolean;
  published_at?: string;
  url?: string;
}
