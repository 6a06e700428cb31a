import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import { isRetryableStatus, pacesClient, retryAfterFromHeaders, shortRetryDelayMs } from '../http/retry-policy.js';
import { upstreamError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';
import type { RateBudgetPort } from '../store/ports.js';

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

/** A failing iPaaS.com slows this client for at most this long per answer; the queue waits out longer hints. */
const SHORT_PAUSE_MAX_MS = 60_000;

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
  private pausedUntil = 0;
  /** Several instances on one store: the API Throttle Limit counted over all of them (shareThrottle). */
  private shared: { budget: RateBudgetPort; key: string } | undefined;
  private slotTurn: Promise<void> = Promise.resolve();
  private readonly dispatcher: Dispatcher;

  constructor(private readonly opts: TransportOptions) {
    this.dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 30_000, connections: 128 });
  }

  close(): Promise<void> {
    return this.opts.dispatcher ? Promise.resolve() : this.dispatcher.close();
  }

  /**
   * The API Throttle Limit is the subscription's, not this process's: with several instances it is
   * counted in the shared budget (the same port as OpenAI's rate budget, its own key).
   */
  shareThrottle(budget: RateBudgetPort, key: string): void {
    this.shared = { budget, key };
  }

  private async throttle(): Promise<void> {
    const now = Date.now();
    const perSecond = this.opts.throttlePerSecond;
    // A 429 or 5xx pauses every call, not just the one that got it (pacesClient).
    let slot = Math.max(now, this.pausedUntil);
    if (perSecond && !this.shared) {
      slot = Math.max(slot, this.nextSlot);
      this.nextSlot = slot + 1000 / perSecond;
    }
    if (slot > now) await sleep(slot - now);
    if (perSecond && this.shared) await this.sharedSlot(perSecond);
  }

  /**
   * One start within `perSecond` per second over every instance; the budget says how long to wait
   * otherwise. This process asks for one slot at a time (its callers queue here), so the budget is not
   * polled by every waiting request at once and a granted slot is used at once.
   */
  private sharedSlot(perSecond: number): Promise<void> {
    const turn = this.slotTurn.then(async () => {
      // A whole number of starts per window: 2.5/s is 5 per 2 s.
      const count = Math.ceil(perSecond);
      const windowMs = Math.round((1000 * count) / perSecond);
      for (;;) {
        const r = await this.shared!.budget.reserve(this.shared!.key, { tokens: 0, perWindow: { count, windowMs }, utilization: 1 });
        if (r.granted) return;
        await sleep(Math.max(5, r.waitMs));
      }
    });
    this.slotTurn = turn.catch(() => undefined);
    return turn;
  }

  /** Waits `ms` before any call starts again, and returns it. */
  private pause(ms: number): number {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
    return ms;
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
          await sleep(shortRetryDelayMs(attempt));
          continue;
        }
        throw upstreamError(
          {
            service: 'ipaas',
            status: undefined,
            endpoint: this.opts.baseUrl,
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
      const paces = pacesClient(status);
      if (attempt < maxRetries && isRetryableStatus(status)) {
        const delay = shortRetryDelayMs(attempt, headers);
        if (paces) this.pause(delay);
        else await sleep(delay);
        continue;
      }
      const retryAfterMs = retryAfterFromHeaders(headers);
      if (paces) this.pause(Math.min(retryAfterMs ?? shortRetryDelayMs(attempt), SHORT_PAUSE_MAX_MS));
      throw upstreamError({
        service: 'ipaas',
        status,
        upstreamMessage: this.opts.redact(`${method} ${url.pathname}: ${messageFrom(body, `HTTP ${status}`)}`),
        requestId: headers.get('x-correlation-id') ?? undefined,
        retryAfterMs,
      });
    }
  }
}

