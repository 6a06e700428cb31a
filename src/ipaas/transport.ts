import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryableStatus, upstreamError, UpstreamError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  /** At most this many requests per second (iPaaS.com's API Throttle Limit). */
  throttlePerSecond?: number | undefined;
  redact: Redactor;
  fetch?: typeof fetch;
}

export interface TransportResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Same short-retry policy as the OpenAI SDK: retry-after within 0-60 s, else 0.5 s doubling to 8 s with jitter. */
export function retryDelayMs(attempt: number, headers: Headers | undefined): number {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && ms <= 60_000 && headers?.get('retry-after-ms')) return ms;
  const ra = headers?.get('retry-after');
  if (ra) {
    const secs = Number(ra);
    const delay = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - Date.now();
    if (delay >= 0 && delay <= 60_000) return delay;
  }
  return Math.min(500 * 2 ** attempt, 8000) * (1 - Math.random() * 0.25);
}

function messageFrom(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const m = b.message ?? b.title ?? b.error;
    if (typeof m === 'string' && m) return m;
  }
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return fallback;
}

/** HTTP for iPaaS.com: JSON in and out, bearer auth, timeouts, throttling, short retries. */
export class IpaasTransport {
  private nextSlot = 0;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: TransportOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  private async throttle(): Promise<void> {
    const perSecond = this.opts.throttlePerSecond;
    if (!perSecond) return;
    const gap = 1000 / perSecond;
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + gap;
    if (slot > now) await sleep(slot - now);
  }

  async request(method: string, pathAndQuery: string, options: { token?: string | undefined; body?: unknown; retry?: boolean } = {}): Promise<TransportResponse> {
    const url = new URL(pathAndQuery.replace(/^\//, ''), this.opts.baseUrl.endsWith('/') ? this.opts.baseUrl : `${this.opts.baseUrl}/`);
    const maxRetries = options.retry === false ? 0 : this.opts.maxRetries;
    for (let attempt = 0; ; attempt++) {
      await this.throttle();
      let res: Response;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: {
            Accept: 'application/json',
            ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
            ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
          },
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
      } catch (err) {
        const e = err as Error;
        const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
        if (attempt < maxRetries) {
          await sleep(retryDelayMs(attempt, undefined));
          continue;
        }
        throw upstreamError(
          {
            service: 'ipaas',
            status: undefined,
            upstreamMessage: this.opts.redact(timedOut ? `${method} ${url.pathname} timed out after ${this.opts.timeoutMs} ms` : `${method} ${url.pathname}: ${e.message}`),
          },
          err,
        );
      }
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* non-JSON bodies are surfaced verbatim */
      }
      if (res.ok) return { status: res.status, headers: res.headers, body };
      if (attempt < maxRetries && isRetryableStatus(res.status)) {
        await sleep(retryDelayMs(attempt, res.headers));
        continue;
      }
      const retryAfter = res.headers.get('retry-after');
      throw upstreamError({
        service: 'ipaas',
        status: res.status,
        upstreamMessage: this.opts.redact(`${method} ${url.pathname}: ${messageFrom(body, res.statusText)}`),
        requestId: res.headers.get('x-correlation-id') ?? undefined,
        retryAfterMs: retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : undefined,
      });
    }
  }
}

export { UpstreamError };
