import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { isRetryableStatus, upstreamError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';

export interface TransportOptions {
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  /** At most this many requests per second (iPaaS.com's API Throttle Limit). */
  throttlePerSecond?: number | undefined;
  redact: Redactor;
  /** Connection pool; one keep-alive agent per client by default. */
  dispatcher?: Dispatcher;
}

export interface TransportResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: unknown;
}

/** undici's header record, read like fetch's Headers. */
function headerReader(h: Record<string, string | string[] | undefined>): TransportResponse['headers'] {
  return {
    get: (name) => {
      const v = h[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** Same short-retry policy as the OpenAI SDK: retry-after within 0-60 s, else 0.5 s doubling to 8 s with jitter. */
export function retryDelayMs(attempt: number, headers: TransportResponse['headers'] | undefined): number {
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

/**
 * HTTP for iPaaS.com: JSON in and out, bearer auth, timeouts, throttling,
 * short retries. undici's request API on a keep-alive pool: a fraction of
 * fetch's cost per call, which matters at hundreds of records a second.
 */
export class IpaasTransport {
  private nextSlot = 0;
  private readonly dispatcher: Dispatcher;

  constructor(private readonly opts: TransportOptions) {
    this.dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 128 });
  }

  close(): Promise<void> {
    return this.opts.dispatcher ? Promise.resolve() : this.dispatcher.close();
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
      let status: number;
      let headers: TransportResponse['headers'];
      let text: string;
      try {
        const res = await undiciRequest(url, {
          method: method as Dispatcher.HttpMethod,
          dispatcher: this.dispatcher,
          headers: {
            accept: 'application/json',
            ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          },
          body: options.body === undefined ? null : JSON.stringify(options.body),
          headersTimeout: this.opts.timeoutMs,
          bodyTimeout: this.opts.timeoutMs,
        });
        status = res.statusCode;
        headers = headerReader(res.headers);
        text = await res.body.text();
      } catch (err) {
        const e = err as Error & { code?: string };
        const timedOut = e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT';
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
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* non-JSON bodies are surfaced verbatim */
      }
      const ok = status >= 200 && status < 300;
      if (ok) return { status, headers, body };
      if (attempt < maxRetries && isRetryableStatus(status)) {
        await sleep(retryDelayMs(attempt, headers));
        continue;
      }
      const retryAfter = headers.get('retry-after');
      throw upstreamError({
        service: 'ipaas',
        status,
        upstreamMessage: this.opts.redact(`${method} ${url.pathname}: ${messageFrom(body, `HTTP ${status}`)}`),
        requestId: headers.get('x-correlation-id') ?? undefined,
        retryAfterMs: retryAfter && Number.isFinite(Number(retryAfter)) ? Number(retryAfter) * 1000 : undefined,
      });
    }
  }
}

