/**
 * The one retry policy, shared by the iPaaS.com client, the OpenAI call and the queue:
 * which statuses are retried, which ones pace the whole client, how a server's retry hint is read
 * (retry-after-ms, retry-after in seconds or as an HTTP date), the transport's short retries and
 * the queue's long ones.
 */

export interface QueueBackoffOptions {
  /** Delay scale of the first retry, default 2000 ms. */
  baseMs?: number;
  /** Upper bound of any delay, default 5 minutes. */
  maxMs?: number;
  /** Source of randomness in [0, 1), injectable for tests. */
  random?: () => number;
}

const DEFAULT_BASE_MS = 2_000;
const DEFAULT_MAX_MS = 5 * 60_000;

/**
 * Delay before retry number `attempt` (1 = first retry): the ceiling doubles from `baseMs`
 * (base, 2·base, 4·base, ...) up to `maxMs`, and the delay is drawn uniformly between a floor of
 * base/2 and that ceiling. Jitter over the whole range spreads a burst of failed jobs so they do
 * not come back in lockstep; the floor keeps a retry from ever firing immediately (a near-zero
 * draw of plain full jitter would just hit the same transient failure again). Attempt 1 lands in
 * [base/2, base]. Always an integer >= 1 ms.
 */
export function queueBackoffMs(attempt: number, opts: QueueBackoffOptions = {}): number {
  const maxMs = positiveOr(opts.maxMs, DEFAULT_MAX_MS);
  const baseMs = Math.min(positiveOr(opts.baseMs, DEFAULT_BASE_MS), maxMs);
  const random = opts.random ?? Math.random;
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  // 2 ** 1100 is Infinity, which min() turns into maxMs: no overflow handling needed.
  const ceiling = Math.min(maxMs, baseMs * 2 ** (n - 1));
  const floor = baseMs / 2;
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = floor + r * (ceiling - floor);
  return Math.max(1, Math.min(Math.ceil(delay), Math.ceil(maxMs)));
}

function positiveOr(v: number | undefined, fallback: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : fallback;
}

export type HeaderSource = Headers | { get(name: string): string | null } | Record<string, string | undefined>;

function header(h: HeaderSource, name: string): string | undefined {
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const rec = h as Record<string, string | undefined>;
  const direct = rec[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(rec)) if (k.toLowerCase() === name) return v;
  return undefined;
}

const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * The server's retry hint in milliseconds, read like the openai SDK does: `retry-after-ms`
 * (float ms) first, else `retry-after` (float seconds, or an HTTP date relative to `now`).
 * Undefined when absent, unparsable or negative. Unlike the SDK this does not drop hints above
 * 60 s: whether to honour a long hint is the caller's policy.
 */
export function retryAfterFromHeaders(h: HeaderSource, now: number = Date.now()): number | undefined {
  const ms = header(h, 'retry-after-ms')?.trim();
  // As in the SDK, a header that is a number is final (even if negative); only an unparsable
  // retry-after-ms falls through to retry-after.
  if (ms !== undefined && NUMBER.test(ms)) return nonNegative(Number(ms));
  const ra = header(h, 'retry-after')?.trim();
  if (ra === undefined || ra === '') return undefined;
  if (NUMBER.test(ra)) return nonNegative(Number(ra) * 1000);
  const at = Date.parse(ra);
  if (Number.isNaN(at)) return undefined;
  const delta = at - now;
  return delta >= 0 ? delta : undefined;
}

function nonNegative(v: number): number | undefined {
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** 408, 409, 429, every 5xx, and no status at all (connection error or timeout) are worth another try. */
export function isRetryableStatus(status: number | undefined): boolean {
  if (status === undefined) return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * A 429 or any 5xx says the server is overloaded or failing: every call to it should slow down,
 * not only the one that got it. A storm of 500s is paced exactly like a storm of 503s.
 */
export function pacesClient(status: number | undefined): boolean {
  return status !== undefined && (status === 429 || status >= 500);
}

/** The transport's short retries honour a hint up to this long; a longer one is the queue's business. */
export const SHORT_RETRY_MAX_HINT_MS = 60_000;

/**
 * Delay before the transport's retry number `attempt` (0 = first retry), the openai SDK's policy:
 * the server's hint when it is within 0-60 s, else 0.5 s doubling to 8 s, minus up to 25 % jitter.
 */
export function shortRetryDelayMs(attempt: number, headers?: HeaderSource, random: () => number = Math.random): number {
  const hint = headers ? retryAfterFromHeaders(headers) : undefined;
  if (hint !== undefined && hint <= SHORT_RETRY_MAX_HINT_MS) return hint;
  return Math.min(500 * 2 ** attempt, 8000) * (1 - random() * 0.25);
}
