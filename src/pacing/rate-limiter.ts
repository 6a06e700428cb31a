/**
 * Paces OpenAI calls so that the account's RPM/TPM limits, not our guesses, are what we run into,
 * and we run into them gently: sustained use close to the limit with almost no 429s.
 *
 * Model, and why:
 * - Each limit is a continuously refilling bucket (capacity = limit, refilled limit/window per ms),
 *   because that is how OpenAI's own limiter behaves: spreading calls evenly is what lets us use
 *   ~all of a limit without tripping it. We aim at `targetUtilization` of the limit (both capacity
 *   and refill rate) so small clock drift between us and the server never becomes a 429.
 * - Limits come from config (a self-imposed cap, its own per-minute bucket) and/or from the first
 *   `x-ratelimit-limit-*` header seen (a mirror of the server's bucket). Both must allow a start.
 * - The server is the source of truth, but its `remaining-*` is a past view: calls we started
 *   after the one being answered are not in it. So each sync lowers our mirror to
 *   remaining - headroom - (what we spent since), never raises it: drift can only make us slower.
 * - `reset-*` reveals the bucket's refill window: on some tiers `limit-requests` is per day
 *   (e.g. 200 with reset "7m12s" for one request). Assuming a minute there would be 1440x too fast.
 * - Tokens are reserved at the estimate (input + max output, which is what OpenAI counts at
 *   admission) and the difference is refunded/charged once the real usage is known.
 * - Concurrency is AIMD: halve on 429/503 (once per wave: answers to calls sent before the cut
 *   don't cut again), +1 after `concurrency` consecutive successes. It guards against the
 *   failures buckets can't see (server overload, other clients on the same key).
 * - Waiters are served strictly FIFO: a big request cannot be overtaken forever by small ones.
 * - Several instances (PostgreSQL) share one budget through a RateBudgetPort (`shareBudget`): the
 *   buckets and the 429 cool-down then live in the port (pacing/shared-rate-budget.ts describes the
 *   model) and this limiter keeps the rest local: FIFO, concurrency and AIMD, the per-second cap as a
 *   first gate, the oversize check. After the local gates pass, the queue head reserves in the port
 *   (one reservation in flight at a time); releases, headers and penalties are reported to it in the
 *   background, merged while one report is under way. Without a port nothing here changes.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ConnectorError } from '../shared/errors.js';
import { pacesClient, retryAfterFromHeaders } from '../http/retry-policy.js';
import { parseGoDuration } from './go-duration.js';
import type { RateBudgetPort, RateMark, RateReport, RateSettings, RateView, ServerRateKind } from '../store/ports.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Monotonic (immune to wall-clock jumps), but in epoch milliseconds like Date.now(). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) => delay(Math.max(0, Math.ceil(ms)), undefined, signal ? { signal } : undefined),
};

export interface RateLimiterOptions {
  /** Configured requests/min if known (e.g. from config); undefined = learn from headers. */
  rpm?: number;
  /** Configured tokens/min. */
  tpm?: number;
  /** Upper bound for in-flight calls (also the starting concurrency). */
  maxConcurrency: number;
  /** Lower bound AIMD may shrink to, default 1. */
  minConcurrency?: number;
  clock?: Clock;
  /** iPaaS.com-style "API Throttle Limit": hard cap of calls per second regardless of headers. */
  maxPerSecond?: number;
  /** Fraction of the limit to aim at, default 0.98 (headroom for clock skew between us and the server). */
  targetUtilization?: number;
}

export interface ReleaseOutcome {
  /** Actual tokens the call counted (input + output) when known; refunds/charges the estimate difference. */
  tokensUsed?: number;
  /** The response's headers (success or error): resynchronises with the server's view. */
  headers?: Headers;
  /** HTTP status; 2xx counts as a success, 429/503 penalize. Omitted: success iff tokensUsed is given. */
  status?: number;
  /** Server's retry hint for a 429/503; if omitted it is read from `headers` (retry-after-ms / retry-after). */
  retryAfterMs?: number;
}

export interface Permit {
  /** Call exactly once when the call is over (further calls are ignored). */
  release(outcome: ReleaseOutcome): void;
}

export interface RateLimiterSnapshot {
  rpmLimit?: number;
  tpmLimit?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  concurrency: number;
  inFlight: number;
  pausedUntil?: number;
  /** 0..1, min of request and token headroom (1 when no limit is known). */
  headroom: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Longest pause a single retry-after can impose; a broken header must not stall a sync for hours. */
const MAX_PAUSE_MS = 5 * MINUTE_MS;
/** Pause after a 429/503 without a retry hint: 0.5 s doubling per consecutive penalty, up to 8 s (the SDK's curve). */
const DEFAULT_PAUSE_MS = 500;
const DEFAULT_PAUSE_MAX_MS = 8_000;

type Kind = 'requests' | 'tokens';
const KINDS: readonly Kind[] = ['requests', 'tokens'];

class Bucket {
  private level: number;
  private updatedAt: number;

  constructor(
    public limit: number,
    private readonly utilization: number,
    now: number,
    public windowMs: number = MINUTE_MS,
  ) {
    this.level = this.capacity;
    this.updatedAt = now;
  }

  get capacity(): number {
    return this.limit * this.utilization;
  }

  private get ratePerMs(): number {
    return this.capacity / this.windowMs;
  }

  available(now: number): number {
    const dt = now - this.updatedAt;
    if (dt > 0) this.level = Math.min(this.capacity, this.level + dt * this.ratePerMs);
    this.updatedAt = Math.max(this.updatedAt, now);
    return this.level;
  }

  take(n: number, now: number): void {
    this.level = this.available(now) - n;
  }

  give(n: number, now: number): void {
    this.level = Math.min(this.capacity, this.available(now) + n);
  }

  lowerTo(v: number, now: number): void {
    this.level = Math.min(this.available(now), v);
  }

  /** Ms until `need` (capped at capacity, so a request between capacity and limit passes when full) is available. */
  msUntil(need: number, now: number): number {
    const want = Math.min(need, this.capacity);
    const missing = want - this.available(now);
    return missing <= 1e-9 * Math.max(1, want) ? 0 : missing / this.ratePerMs;
  }

  setLimit(limit: number, now: number): void {
    this.available(now);
    this.limit = limit;
    this.level = Math.min(this.level, this.capacity);
  }

  setWindow(windowMs: number, now: number): void {
    this.available(now);
    this.windowMs = windowMs;
  }
}

interface KindState {
  /** Self-imposed cap from config: always per minute, never resynchronised upwards or downwards by headers. */
  configured?: Bucket;
  /** Mirror of the server's bucket, created from the first x-ratelimit-limit-* header. */
  server?: Bucket;
}

interface Grant {
  seq: number;
  /** Shared budget only: the budget's count of grants, this one included. */
  mark?: RateMark;
  /** Tokens currently charged for this call: the estimate, then the actual usage once released. */
  tokens: number;
  released: boolean;
  /** Buckets this call was charged to (a bucket learned later never gets refunds it never charged). */
  requestBuckets: Bucket[];
  tokenBuckets: Bucket[];
}

interface Waiter {
  tokens: number;
  resolve(p: Permit): void;
  reject(e: unknown): void;
  detach(): void;
}

/** What waits to be reported to a shared budget (merged while a report is under way). */
interface Outbox {
  tokens: number;
  requests: number;
  /** Local clock. */
  coolDownUntil: number;
  server?: NonNullable<RateReport['server']>;
}

interface Shared {
  port: RateBudgetPort;
  key: string;
  onError: ((err: unknown, during: 'reserve' | 'report') => void) | undefined;
  reserving: boolean;
  /** Local clock: the budget said no; ask again at this time. */
  askAt: number;
  failures: number;
  view: RateView | undefined;
  viewAt: number;
  outbox: Outbox | undefined;
  reporting: boolean;
}

/** After a failed reservation (database unreachable): ask again after 250 ms, doubling up to 5 s. */
const SHARED_RETRY_MS = 250;
const SHARED_RETRY_MAX_MS = 5_000;
/** A reservation not answered in this long counts as failed. */
const SHARED_TIMEOUT_MS = 10_000;

export class RateLimiter {
  private readonly clock: Clock;
  private readonly utilization: number;
  private readonly maxConcurrency: number;
  private readonly minConcurrency: number;
  private readonly kinds: Record<Kind, KindState> = { requests: {}, tokens: {} };
  /** Configured limits (per minute), as given. */
  private readonly configuredLimit: Partial<Record<Kind, number>> = {};
  private shared: Shared | undefined;
  /** Server-reported limits (not scaled by utilization). */
  private readonly serverLimit: Partial<Record<Kind, number>> = {};
  private readonly perSecond: { count: number; windowMs: number } | undefined;
  private readonly starts: number[] = [];
  private readonly queue: Waiter[] = [];
  /** Grants in start order, kept while an earlier grant is still in flight (see uncountedSince). */
  private readonly log: Grant[] = [];
  private seq = 0;
  private inFlight = 0;
  private concurrency: number;
  private okStreak = 0;
  private penaltyStreak = 0;
  private lastCutSeq = 0;
  private lastSyncedSeq = 0;
  private pausedUntil = -Infinity;
  private timer: { at: number; controller: AbortController } | undefined;

  constructor(opts: RateLimiterOptions) {
    this.clock = opts.clock ?? systemClock;
    this.utilization = opts.targetUtilization ?? 0.98;
    if (!(this.utilization > 0 && this.utilization <= 1)) throw new RangeError('targetUtilization must be in (0, 1]');
    if (!Number.isInteger(opts.maxConcurrency) || opts.maxConcurrency < 1) throw new RangeError('maxConcurrency must be an integer >= 1');
    this.maxConcurrency = opts.maxConcurrency;
    this.minConcurrency = Math.min(opts.minConcurrency ?? 1, this.maxConcurrency);
    if (!Number.isInteger(this.minConcurrency) || this.minConcurrency < 1) throw new RangeError('minConcurrency must be an integer >= 1');
    this.concurrency = this.maxConcurrency;
    const now = this.clock.now();
    for (const [kind, limit] of [['requests', opts.rpm], ['tokens', opts.tpm]] as const) {
      if (limit === undefined) continue;
      if (!(Number.isFinite(limit) && limit > 0)) throw new RangeError(`${kind === 'requests' ? 'rpm' : 'tpm'} must be a positive number`);
      this.kinds[kind].configured = new Bucket(limit, this.utilization, now);
      this.configuredLimit[kind] = limit;
    }
    if (opts.maxPerSecond !== undefined) {
      const m = opts.maxPerSecond;
      if (!(Number.isFinite(m) && m > 0)) throw new RangeError('maxPerSecond must be a positive number');
      // At most `count` starts in any `windowMs`: 5/s -> 5 per 1000 ms, 0.5/s -> 1 per 2000 ms.
      const count = Math.max(1, Math.floor(m));
      this.perSecond = { count, windowMs: (1000 * count) / m };
    }
  }

  /**
   * Paces by buckets shared with every limiter on `port` under `key` (e.g. OpenAI base URL + model)
   * instead of this process's own: several instances then send what one would. Call before the first
   * acquire. `onError` hears of failed port calls (a reservation is retried after a back-off).
   */
  shareBudget(port: RateBudgetPort, key: string, onError?: (err: unknown, during: 'reserve' | 'report') => void): void {
    if (this.shared?.port === port && this.shared.key === key) return;
    if (this.inFlight > 0 || this.queue.length > 0) throw new Error('shareBudget: call it before the limiter is used');
    this.shared = { port, key, onError, reserving: false, askAt: -Infinity, failures: 0, view: undefined, viewAt: 0, outbox: undefined, reporting: false };
    this.kinds.requests = {};
    this.kinds.tokens = {};
  }

  get sharedKey(): string | undefined {
    return this.shared?.key;
  }

  /** Waits until a call estimated at `estimatedTokens` (input + max output tokens, as OpenAI counts against TPM) may start. */
  acquire(estimatedTokens: number, signal?: AbortSignal): Promise<Permit> {
    if (!(Number.isFinite(estimatedTokens) && estimatedTokens >= 0)) {
      return Promise.reject(new RangeError(`estimatedTokens must be a finite number >= 0, got ${estimatedTokens}`));
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const tooLarge = this.tooLarge(estimatedTokens);
    if (tooLarge) return Promise.reject(tooLarge);
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { tokens: estimatedTokens, resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = (): void => {
          const i = this.queue.indexOf(waiter);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(abortReason(signal));
          this.pump();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(waiter);
      this.pump();
    });
  }

  /**
   * Feed headers of a response that was not obtained through a Permit (for permitted calls pass
   * them to `release` instead, which knows which of our calls the server had already counted).
   */
  observe(headers: Headers): void {
    this.sync(headers, undefined, this.clock.now());
    this.pump();
  }

  /** A 429 (or 503) arrived outside `release`: pause all starts until retry-after passes, and halve concurrency. */
  penalize(retryAfterMs: number | undefined): void {
    this.penalizeFrom(retryAfterMs, undefined);
    this.pump();
  }

  snapshot(): RateLimiterSnapshot {
    const now = this.clock.now();
    const snap: RateLimiterSnapshot = { concurrency: this.concurrency, inFlight: this.inFlight, headroom: 1 };
    const rpm = this.limitOf('requests');
    const tpm = this.limitOf('tokens');
    if (rpm !== undefined) snap.rpmLimit = rpm;
    if (tpm !== undefined) snap.tpmLimit = tpm;
    for (const kind of KINDS) {
      let remaining: number | undefined;
      for (const b of this.bucketsOf(kind)) {
        const level = b.available(now);
        remaining = remaining === undefined ? level : Math.min(remaining, level);
        snap.headroom = Math.min(snap.headroom, Math.max(0, Math.min(1, level / b.capacity)));
      }
      if (remaining === undefined) continue;
      const r = Math.max(0, Math.floor(remaining + 1e-9));
      if (kind === 'requests') snap.remainingRequests = r;
      else snap.remainingTokens = r;
    }
    const v = this.shared?.view;
    let pausedUntil = this.pausedUntil;
    if (v) {
      for (const [level, cap, key] of [[v.requests, v.requestsCapacity, 'remainingRequests'], [v.tokens, v.tokensCapacity, 'remainingTokens']] as const) {
        if (level === undefined || cap === undefined) continue;
        snap[key] = Math.max(0, Math.floor(level + 1e-9));
        snap.headroom = Math.min(snap.headroom, Math.max(0, Math.min(1, level / cap)));
      }
      if (v.pausedMs > 0) pausedUntil = Math.max(pausedUntil, this.shared!.viewAt + v.pausedMs);
    }
    if (pausedUntil > now) snap.pausedUntil = pausedUntil;
    return snap;
  }

  // ---- internals -------------------------------------------------------------------------------

  private bucketsOf(kind: Kind): Bucket[] {
    const s = this.kinds[kind];
    const out: Bucket[] = [];
    if (s.configured) out.push(s.configured);
    if (s.server) out.push(s.server);
    return out;
  }

  /** Smallest known limit (configured or server-reported), in its own window's units. */
  private limitOf(kind: Kind): number | undefined {
    const candidates = [this.configuredLimit[kind], this.serverLimit[kind]].filter((v): v is number => v !== undefined);
    return candidates.length === 0 ? undefined : Math.min(...candidates);
  }

  private tooLarge(tokens: number): Error | undefined {
    const tpm = this.limitOf('tokens');
    if (tpm === undefined || tokens <= tpm) return undefined;
    return new ConnectorError(
      'INVALID_INPUT',
      `This OpenAI request needs about ${Math.ceil(tokens)} tokens but the tokens-per-minute (TPM) limit is ${tpm}: it can never be sent.`,
      {
        retryable: false,
        fix: 'Send less customer data, shorten the PromptText, lower the max output tokens, or raise the TPM limit.',
        details: { estimatedTokens: tokens, tpmLimit: tpm },
      },
    );
  }

  /** Serves the queue head-first; arms one timer for the earliest moment the head could start. */
  private pump(): void {
    const now = this.clock.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const tooLarge = this.tooLarge(head.tokens); // limits may have been learned while it waited
      if (tooLarge) {
        this.queue.shift();
        head.detach();
        head.reject(tooLarge);
        continue;
      }
      if (this.inFlight >= this.concurrency) break; // a release will pump again
      const wait = this.waitMs(head.tokens, now);
      if (wait > 0) {
        this.armTimer(now, wait);
        return;
      }
      if (this.shared) {
        // The local gates passed: the head asks the shared budget (one reservation at a time keeps FIFO).
        if (this.shared.reserving) return;
        if (this.shared.askAt > now) {
          this.armTimer(now, this.shared.askAt - now);
          return;
        }
        this.reserve(this.shared, head);
        return;
      }
      this.queue.shift();
      head.detach();
      head.resolve(this.grant(head.tokens, now));
    }
    this.cancelTimer();
  }

  private waitMs(tokens: number, now: number): number {
    let wait = Math.max(0, this.pausedUntil - now);
    if (this.perSecond) {
      const { count, windowMs } = this.perSecond;
      const nth = this.starts[this.starts.length - count];
      if (nth !== undefined) wait = Math.max(wait, nth + windowMs - now);
    }
    for (const b of this.bucketsOf('requests')) wait = Math.max(wait, b.msUntil(1, now));
    for (const b of this.bucketsOf('tokens')) wait = Math.max(wait, b.msUntil(tokens, now));
    return wait;
  }

  private reserve(shared: Shared, head: Waiter): void {
    shared.reserving = true;
    // A store that stops answering (no error, no answer) must not stall the limiter: after a while the
    // reservation counts as failed; should it be granted after all, it is given back.
    let over = false;
    const timer = new AbortController();
    const settled = (): number => {
      over = true;
      timer.abort();
      shared.reserving = false;
      return this.clock.now();
    };
    const failed = (err: unknown): void => {
      const now = settled();
      shared.askAt = now + Math.min(SHARED_RETRY_MAX_MS, SHARED_RETRY_MS * 2 ** shared.failures++);
      shared.onError?.(err, 'reserve');
      this.pump();
    };
    this.clock.sleep(SHARED_TIMEOUT_MS, timer.signal).then(
      () => !over && failed(new Error(`The shared rate budget did not answer within ${SHARED_TIMEOUT_MS} ms.`)),
      () => {},
    );
    shared.port.reserve(shared.key, { ...this.settings(), tokens: head.tokens }).then(
      (res) => {
        if (over) {
          if (res.granted) this.report({ requests: 1, tokens: head.tokens });
          return;
        }
        const now = settled();
        shared.failures = 0;
        this.see(shared, res.view, now);
        if (res.granted) {
          const i = this.queue.indexOf(head);
          if (i < 0) {
            this.report({ requests: 1, tokens: head.tokens }); // aborted while we asked: give it back
          } else {
            this.queue.splice(i, 1);
            head.detach();
            head.resolve(this.grant(head.tokens, now, res.mark));
          }
        } else {
          shared.askAt = now + Math.max(1, res.waitMs);
        }
        this.pump();
      },
      (err: unknown) => {
        if (!over) failed(err);
      },
    );
  }

  private settings(): RateSettings {
    return {
      rpm: this.configuredLimit.requests,
      tpm: this.configuredLimit.tokens,
      perWindow: this.perSecond ? { count: this.perSecond.count, windowMs: this.perSecond.windowMs } : undefined,
      utilization: this.utilization,
    };
  }

  private see(shared: Shared, v: RateView, now: number): void {
    shared.view = v;
    shared.viewAt = now;
  }

  /** Queues `part` for the shared budget and sends it unless a report is under way (then it goes with the next). */
  private report(part: { tokens?: number; requests?: number; coolDownMs?: number; server?: NonNullable<RateReport['server']> }): void {
    const shared = this.shared;
    if (!shared) return;
    const now = this.clock.now();
    const o = (shared.outbox ??= { tokens: 0, requests: 0, coolDownUntil: -Infinity });
    o.tokens += part.tokens ?? 0;
    o.requests += part.requests ?? 0;
    if (part.coolDownMs !== undefined) o.coolDownUntil = Math.max(o.coolDownUntil, now + part.coolDownMs);
    // Of two server views, the one counted through more grants is newer (the budget ignores older ones anyway).
    if (part.server && (!o.server || part.server.countedThrough.requests >= o.server.countedThrough.requests)) o.server = part.server;
    this.flush(shared);
  }

  private flush(shared: Shared): void {
    if (shared.reporting || !shared.outbox) return;
    const o = shared.outbox;
    shared.outbox = undefined;
    shared.reporting = true;
    const now = this.clock.now();
    const rep: RateReport = { ...this.settings() };
    if (o.tokens !== 0) rep.tokens = o.tokens;
    if (o.requests !== 0) rep.requests = o.requests;
    if (o.coolDownUntil > now) rep.coolDownMs = o.coolDownUntil - now;
    if (o.server) rep.server = o.server;
    const gaveBack = o.tokens > 0 || o.requests > 0;
    // As for reservations: a report not answered in time counts as lost, so later ones are not held up.
    let over = false;
    const timer = new AbortController();
    const end = (): boolean => {
      if (over) return false;
      over = true;
      timer.abort();
      shared.reporting = false;
      return true;
    };
    this.clock.sleep(SHARED_TIMEOUT_MS, timer.signal).then(
      () => {
        if (!end()) return;
        shared.onError?.(new Error(`The shared rate budget did not answer within ${SHARED_TIMEOUT_MS} ms.`), 'report');
        this.flush(shared);
      },
      () => {},
    );
    shared.port.report(shared.key, rep).then(
      (v) => {
        if (!end()) return;
        this.see(shared, v, this.clock.now());
        // What was given back may be what the head waits for: ask again now rather than at the old estimate.
        if (gaveBack && !shared.reserving && shared.askAt > this.clock.now()) shared.askAt = -Infinity;
        this.flush(shared);
        this.pump();
      },
      (err: unknown) => {
        if (!end()) return;
        shared.onError?.(err, 'report');
        this.flush(shared);
      },
    );
  }

  private grant(tokens: number, now: number, mark?: RateMark): Permit {
    const grant: Grant = {
      seq: ++this.seq,
      tokens,
      released: false,
      requestBuckets: this.bucketsOf('requests'),
      tokenBuckets: this.bucketsOf('tokens'),
      ...(mark ? { mark } : {}),
    };
    for (const b of grant.requestBuckets) b.take(1, now);
    for (const b of grant.tokenBuckets) b.take(tokens, now);
    this.inFlight++;
    this.log.push(grant);
    if (this.perSecond) {
      this.starts.push(now);
      if (this.starts.length > this.perSecond.count) this.starts.shift();
    }
    return { release: (outcome) => this.release(grant, outcome) };
  }

  private release(grant: Grant, outcome: ReleaseOutcome): void {
    if (grant.released) return;
    grant.released = true;
    this.inFlight--;
    const now = this.clock.now();
    // Sync before settling: the server's remaining still includes this call's reservation.
    if (outcome.headers) this.sync(outcome.headers, grant, now);
    const used = outcome.tokensUsed;
    if (used !== undefined && Number.isFinite(used) && used >= 0) {
      const refund = grant.tokens - used;
      for (const b of grant.tokenBuckets) {
        if (refund > 0) b.give(refund, now);
        else if (refund < 0) b.take(-refund, now);
      }
      if (grant.mark && refund !== 0) this.report({ tokens: refund });
      grant.tokens = used;
    }
    const status = outcome.status;
    if (pacesClient(status)) {
      const hint = outcome.retryAfterMs ?? (outcome.headers ? retryAfterFromHeaders(outcome.headers) : undefined);
      this.penalizeFrom(hint, grant.seq);
    } else if (status === undefined ? used !== undefined : status >= 200 && status < 300) {
      this.penaltyStreak = 0;
      if (++this.okStreak >= this.concurrency) {
        this.okStreak = 0;
        if (this.concurrency < this.maxConcurrency) this.concurrency++;
      }
    }
    // Drop log entries no in-flight call can still need (only calls started after an in-flight one matter).
    let i = 0;
    while (i < this.log.length && this.log[i]!.released) i++;
    if (i > 0) this.log.splice(0, i);
    this.pump();
  }

  private penalizeFrom(retryAfterMs: number | undefined, seq: number | undefined): void {
    const now = this.clock.now();
    this.penaltyStreak++;
    const pause =
      retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0
        ? Math.min(retryAfterMs, MAX_PAUSE_MS)
        : Math.min(DEFAULT_PAUSE_MS * 2 ** (this.penaltyStreak - 1), DEFAULT_PAUSE_MAX_MS);
    this.pausedUntil = Math.max(this.pausedUntil, now + pause);
    // Shared: every limiter on the budget waits it out, not only this one.
    if (this.shared) this.report({ coolDownMs: pause });
    this.okStreak = 0;
    // Answers to calls sent before the last cut describe the old load: one wave of 429s, one halving.
    if (seq === undefined || seq > this.lastCutSeq) {
      this.concurrency = Math.max(this.minConcurrency, Math.floor(this.concurrency / 2));
      this.lastCutSeq = this.seq;
    }
  }

  /**
   * Resynchronise with the server's view. `answered` is the call these headers came with: the
   * server had counted it and (conservatively) none of the calls we started after it. Without it
   * (observe()), every call in flight is assumed uncounted.
   */
  private sync(headers: Headers, answered: Grant | undefined, now: number): void {
    if (this.shared) {
      this.syncShared(headers, answered);
      return;
    }
    // An answer to a call older than one we already synced from says nothing newer (the server
    // admitted that later call after it) and would make us subtract the calls in between twice.
    const stale = answered !== undefined && answered.seq < this.lastSyncedSeq;
    if (answered && !stale) this.lastSyncedSeq = answered.seq;
    for (const kind of KINDS) {
      const limit = numberHeader(headers, `x-ratelimit-limit-${kind}`);
      const remaining = numberHeader(headers, `x-ratelimit-remaining-${kind}`);
      const resetRaw = headers.get(`x-ratelimit-reset-${kind}`);
      const reset = resetRaw === null ? undefined : parseGoDuration(resetRaw);
      const state = this.kinds[kind];
      if (limit !== undefined && limit > 0) {
        this.serverLimit[kind] = limit;
        if (state.server) state.server.setLimit(limit, now);
        else state.server = new Bucket(limit, this.utilization, now);
        const window = inferWindowMs(limit, remaining, reset);
        if (window !== undefined) state.server.setWindow(window, now);
      }
      const target = state.server ?? state.configured;
      if (remaining === undefined || remaining < 0 || !target || stale) continue;
      const limitForHeadroom = this.serverLimit[kind] ?? target.limit;
      const view = remaining - (1 - this.utilization) * limitForHeadroom - this.uncountedSince(answered, kind);
      target.lowerTo(view, now);
    }
  }

  /**
   * The shared budget's version of sync: the limits are learnt here too (for the oversize check and
   * snapshots); the levels are corrected in the budget, by the grants of every limiter after the mark
   * the answer is taken to include: the answered call's, else (observe, which does not know which
   * call it answers) the newest call in flight here. Not the oldest, as the local sync assumes: the
   * shared budget already counts every instance's calls exactly, the headers only correct for what
   * it cannot see (other clients of the key), and taking the conservative end of a guess on every
   * answer ratchets the level down by its noise (simulated: 90-95% of the limit used instead of 97-98%).
   */
  private syncShared(headers: Headers, answered: Grant | undefined): void {
    let newest: Grant | undefined;
    for (const g of this.log) if (!g.released && g.mark) newest = g;
    const countedThrough = answered?.mark ?? newest?.mark ?? this.shared!.view?.mark ?? { requests: 0, tokens: 0 };
    const server: NonNullable<RateReport['server']> = { countedThrough };
    let any = false;
    for (const kind of KINDS) {
      const limit = numberHeader(headers, `x-ratelimit-limit-${kind}`);
      const remaining = numberHeader(headers, `x-ratelimit-remaining-${kind}`);
      const resetRaw = headers.get(`x-ratelimit-reset-${kind}`);
      const reset = resetRaw === null ? undefined : parseGoDuration(resetRaw);
      const s: ServerRateKind = {};
      if (limit !== undefined && limit > 0) {
        this.serverLimit[kind] = limit;
        s.limit = limit;
        const window = inferWindowMs(limit, remaining, reset);
        if (window !== undefined) s.windowMs = window;
      }
      if (remaining !== undefined && remaining >= 0) s.remaining = remaining;
      if (s.limit === undefined && s.remaining === undefined) continue;
      server[kind] = s;
      any = true;
    }
    if (any) this.report({ server });
  }

  /** Requests/tokens we spent that the server's answer to `answered` cannot include yet. */
  private uncountedSince(answered: Grant | undefined, kind: Kind): number {
    let sum = 0;
    for (const g of this.log) {
      const counts = answered ? g.seq > answered.seq : !g.released;
      if (counts) sum += kind === 'requests' ? 1 : g.tokens;
    }
    return sum;
  }

  private armTimer(now: number, wait: number): void {
    const at = now + wait;
    if (this.timer && this.timer.at <= at) return; // an earlier wake-up re-evaluates anyway
    this.cancelTimer();
    const timer = { at, controller: new AbortController() };
    this.timer = timer;
    this.clock.sleep(wait, timer.controller.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.pump();
      },
      () => {}, // cancelled
    );
  }

  private cancelTimer(): void {
    if (!this.timer) return;
    this.timer.controller.abort();
    this.timer = undefined;
  }
}

/**
 * The refill window implied by `reset` (time until full): limit/(limit-remaining)·reset. Only
 * ever slower than a minute (a per-day limit), snapped to a day when close; a reset rounded to
 * "0s"/few ms is too coarse to say anything.
 */
function inferWindowMs(limit: number, remaining: number | undefined, reset: number | undefined): number | undefined {
  if (remaining === undefined || reset === undefined || reset < 20) return undefined;
  const used = limit - remaining;
  if (used < 1) return undefined;
  const implied = (reset * limit) / used;
  if (implied <= 1.5 * MINUTE_MS) return MINUTE_MS;
  if (implied >= 0.9 * DAY_MS) return DAY_MS;
  return implied;
}

function numberHeader(h: Headers, name: string): number | undefined {
  const v = h.get(name);
  if (v === null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * A Clock for tests and simulations: time only moves when `run`/`advance` fire the next timer,
 * after letting every pending promise callback settle, so results are deterministic and instant.
 */
export class VirtualClock implements Clock {
  private t: number;
  private ids = 0;
  private timers: Array<{ at: number; id: number; fire: () => void }> = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const timer = { at: this.t + Math.max(0, ms), id: ++this.ids, fire: () => {} };
      const onAbort = (): void => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(abortReason(signal!));
      };
      timer.fire = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const i = this.timers.findIndex((x) => x.at > timer.at);
      if (i < 0) this.timers.push(timer);
      else this.timers.splice(i, 0, timer);
    });
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let next = this.timers[0]; next !== undefined && next.at <= end; next = this.timers[0]) {
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fire();
      await settle();
    }
    this.t = end;
  }

  /** Fires timers one by one until `promise` settles; throws if it is stuck with nothing scheduled. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    await settle();
    while (!done) {
      const next = this.timers.shift();
      if (!next) throw new Error('VirtualClock.run: the promise is pending but no timer is scheduled (deadlock)');
      this.t = Math.max(this.t, next.at);
      next.fire();
      await settle();
    }
    return promise;
  }
}

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
