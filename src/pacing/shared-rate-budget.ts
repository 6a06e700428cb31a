/**
 * One OpenAI rate budget for several limiters: the arithmetic of the shared request and token
 * buckets, and the in-memory adapter of RateBudgetPort (several limiters in one process, and the
 * model the PostgreSQL adapter's statements mirror line by line: store/postgres/pg-rate-budget.ts).
 *
 * A budget is one row per key (OpenAI base URL + model):
 * - per kind (requests, tokens) the server-reported limit and its refill window, and a level as of
 *   `updatedAt`. The caller's configured per-minute caps and utilization come with each call, so the
 *   effective bucket is capacity = min(limits) × utilization, refill = min(limit/window) × utilization
 *   (at least as strict as each of the buckets it stands for). No limit known: that kind is not paced.
 * - `reqTaken`/`tokTaken`: everything granted so far. A grant's mark says which grants came before it,
 *   so an answer's `remaining` is corrected by the grants the server had not counted yet, cluster-wide.
 * - `starts`: the last starts, for the API Throttle Limit (at most n starts in any window).
 * - `pausedUntil`: the shared cool-down after a 429/503.
 * All times are the budget's clock (the database's for PostgreSQL), never the callers': a caller only
 * ever learns durations ("wait 850 ms"), which mean the same on every host whatever its clock says.
 */
import type { RateAsk, RateBudgetPort, RateReport, RateReservation, RateSettings, RateView } from '../store/ports.js';
import { systemClock, type Clock } from './rate-limiter.js';

const MINUTE_MS = 60_000;

export interface RateBudgetRow {
  reqLimit: number | null;
  reqWindowMs: number;
  reqLevel: number | null;
  tokLimit: number | null;
  tokWindowMs: number;
  tokLevel: number | null;
  reqTaken: number;
  tokTaken: number;
  /** The newest mark (requests) an answer was applied from: older answers are stale. */
  syncedThrough: number;
  starts: number[];
  pausedUntil: number;
  updatedAt: number;
}

export function newRateBudgetRow(now: number): RateBudgetRow {
  return {
    reqLimit: null, reqWindowMs: MINUTE_MS, reqLevel: null, tokLimit: null, tokWindowMs: MINUTE_MS, tokLevel: null,
    reqTaken: 0, tokTaken: 0, syncedThrough: 0, starts: [], pausedUntil: 0, updatedAt: now,
  };
}

interface Effective {
  limit: number;
  cap: number;
  /** Refill per ms. */
  rate: number;
}

/** The bucket a caller's settings make of a kind: the smaller of the server's limit and its configured cap. */
function effective(serverLimit: number | null, windowMs: number, configured: number | undefined, u: number): Effective | undefined {
  const limits: number[] = [];
  const rates: number[] = [];
  if (serverLimit !== null) {
    limits.push(serverLimit);
    rates.push((serverLimit * u) / windowMs);
  }
  if (configured !== undefined) {
    limits.push(configured);
    rates.push((configured * u) / MINUTE_MS);
  }
  if (limits.length === 0) return undefined;
  const limit = Math.min(...limits);
  return { limit, cap: limit * u, rate: Math.min(...rates) };
}

function refill(level: number | null, e: Effective | undefined, dt: number): number | null {
  if (!e) return null;
  return Math.min(e.cap, (level ?? e.cap) + dt * e.rate);
}

/** The same tolerance as the local buckets: float dust never makes a full bucket refuse. */
const enough = (level: number, want: number) => level >= want - 1e-9 * Math.max(1, want);

function view(row: RateBudgetRow, s: RateSettings, t: number): RateView {
  const r = effective(row.reqLimit, row.reqWindowMs, s.rpm, s.utilization);
  const k = effective(row.tokLimit, row.tokWindowMs, s.tpm, s.utilization);
  const v: RateView = { pausedMs: Math.max(0, row.pausedUntil - t), mark: { requests: row.reqTaken, tokens: row.tokTaken } };
  if (r) Object.assign(v, { requestsLimit: r.limit, requestsCapacity: r.cap, requests: row.reqLevel ?? r.cap });
  if (k) Object.assign(v, { tokensLimit: k.limit, tokensCapacity: k.cap, tokens: row.tokLevel ?? k.cap });
  return v;
}

/** Refill by the time elapsed, then take 1 request + `ask.tokens` if every bucket (and the cool-down) allows it now. */
export function reserveStep(row: RateBudgetRow, ask: RateAsk, now: number): RateReservation {
  const t = Math.max(row.updatedAt, now);
  const dt = t - row.updatedAt;
  const re = effective(row.reqLimit, row.reqWindowMs, ask.rpm, ask.utilization);
  const ke = effective(row.tokLimit, row.tokWindowMs, ask.tpm, ask.utilization);
  const r = refill(row.reqLevel, re, dt);
  const k = refill(row.tokLevel, ke, dt);
  // A call bigger than the aimed-at capacity (but within the limit) passes when the bucket is full.
  const rWant = re ? Math.min(1, re.cap) : 0;
  const kWant = ke ? Math.min(ask.tokens, ke.cap) : 0;
  const w = ask.perWindow;
  const windowFreeAt = w && row.starts.length >= w.count ? row.starts[row.starts.length - w.count]! + w.windowMs : undefined;
  const ok =
    row.pausedUntil <= t && (r === null || enough(r, rWant)) && (k === null || enough(k, kWant)) && (windowFreeAt === undefined || windowFreeAt <= t);
  row.reqLevel = r === null ? null : ok ? r - 1 : r;
  row.tokLevel = k === null ? null : ok ? k - ask.tokens : k;
  if (ok) {
    row.reqTaken += 1;
    row.tokTaken += ask.tokens;
  }
  row.starts = !w ? [] : ok ? [...row.starts, t].slice(-w.count) : row.starts;
  row.updatedAt = t;
  const v = view(row, ask, t);
  if (ok) return { granted: true, mark: { requests: row.reqTaken, tokens: row.tokTaken }, view: v };
  const waits = [row.pausedUntil - t, windowFreeAt === undefined ? 0 : windowFreeAt - t];
  if (r !== null && re) waits.push((rWant - r) / re.rate);
  if (k !== null && ke) waits.push((kWant - k) / ke.rate);
  return { granted: false, waitMs: Math.max(0, ...waits), view: v };
}

/**
 * In this order: refill; learn limits and windows; lower the level to what the server says is left
 * (less headroom, less what was granted after the answered mark), never raise it; settle give-backs
 * and extra takes; start the cool-down.
 */
export function reportStep(row: RateBudgetRow, rep: RateReport, now: number): RateView {
  const t = Math.max(row.updatedAt, now);
  const dt = t - row.updatedAt;
  const u = rep.utilization;
  const r0 = refill(row.reqLevel, effective(row.reqLimit, row.reqWindowMs, rep.rpm, u), dt);
  const k0 = refill(row.tokLevel, effective(row.tokLimit, row.tokWindowMs, rep.tpm, u), dt);
  const srv = rep.server;
  const fresh = srv !== undefined && srv.countedThrough.requests >= row.syncedThrough;
  const kinds = [
    { s: srv?.requests, level: r0, limitKey: 'reqLimit', windowKey: 'reqWindowMs', levelKey: 'reqLevel', cfg: rep.rpm, taken: row.reqTaken, counted: srv?.countedThrough.requests, delta: rep.requests },
    { s: srv?.tokens, level: k0, limitKey: 'tokLimit', windowKey: 'tokWindowMs', levelKey: 'tokLevel', cfg: rep.tpm, taken: row.tokTaken, counted: srv?.countedThrough.tokens, delta: rep.tokens },
  ] as const;
  for (const kd of kinds) {
    if (kd.s?.limit !== undefined) row[kd.limitKey] = kd.s.limit;
    if (kd.s?.windowMs !== undefined) row[kd.windowKey] = kd.s.windowMs;
    const e = effective(row[kd.limitKey], row[kd.windowKey], kd.cfg, u);
    let level = e ? Math.min(e.cap, kd.level ?? e.cap) : null;
    if (level !== null && e && fresh && kd.s?.remaining !== undefined) {
      const uncounted = Math.max(0, kd.taken - (kd.counted ?? 0));
      level = Math.min(level, kd.s.remaining - (1 - u) * (row[kd.limitKey] ?? e.limit) - uncounted);
    }
    const d = kd.delta ?? 0;
    if (level !== null && e && d !== 0) level = d > 0 ? Math.min(e.cap, level + d) : level + d;
    row[kd.levelKey] = level;
  }
  if (fresh) row.syncedThrough = Math.max(row.syncedThrough, srv!.countedThrough.requests);
  if (rep.coolDownMs !== undefined && rep.coolDownMs > 0) row.pausedUntil = Math.max(row.pausedUntil, t + rep.coolDownMs);
  row.updatedAt = t;
  return view(row, rep, t);
}

/**
 * The in-memory adapter: buckets shared by the limiters of one process (and the reference the
 * PostgreSQL adapter is tested against). Each call is applied at once; the promise only keeps the port's shape.
 */
export class MemoryRateBudget implements RateBudgetPort {
  private readonly rows = new Map<string, RateBudgetRow>();

  constructor(private readonly clock: Pick<Clock, 'now'> = systemClock) {}

  private row(key: string, now: number): RateBudgetRow {
    let row = this.rows.get(key);
    if (!row) this.rows.set(key, (row = newRateBudgetRow(now)));
    return row;
  }

  reserve(key: string, ask: RateAsk, now = this.clock.now()): Promise<RateReservation> {
    return Promise.resolve(reserveStep(this.row(key, now), ask, now));
  }

  report(key: string, report: RateReport, now = this.clock.now()): Promise<RateView> {
    return Promise.resolve(reportStep(this.row(key, now), report, now));
  }
}

/** The budget a limiter shares: OpenAI's limits are per model, the base URL tells accounts/servers apart. */
export function rateBudgetKey(baseUrl: string, model: string): string {
  return `${baseUrl.replace(/\/+$/, '')} ${model}`;
}
