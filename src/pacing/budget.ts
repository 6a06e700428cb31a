import type { ConnectorConfig } from '../config/schema.js';
import { BudgetHeldError } from '../shared/errors.js';
import type { SpendLedgerPort, SpendRangePort } from '../store/ports.js';

type Caps = ConnectorConfig['budget'];
interface Period {
  start: number;
  tokens: number;
  usd: number;
}
interface Spend {
  tokens: number;
  usd: number;
}

/** Several instances on one ledger (PostgreSQL): how the Budget keeps up with what the others spend. */
export interface BudgetSharing {
  /** Re-read the ledger at most this often, ms (default 1000). */
  refreshMs?: number;
  /** The ledger by stretch: closed stretches are summed once, only the open end is re-read. */
  range?: SpendRangePort;
  /** A re-read failed (the last totals stay in force; the next one is tried `refreshMs` later). */
  onError?: (err: unknown) => void;
}

/** The sums of the ledger's closed stretch [monthStart, upTo), and of its part since dayStart. */
interface Frozen {
  monthStart: number;
  dayStart: number;
  upTo: number;
  month: Spend;
  day: Spend;
  since: number;
}

/**
 * An attempt is logged when it ends, with the time it started: the ledger before "now − SETTLED_MS"
 * is taken as final (nothing that old is still running) and summed once, in CHUNK_MS steps.
 * Every RECOUNT_MS the closed stretch is summed afresh, so an attempt logged later still is counted.
 */
const SETTLED_MS = 30 * 60_000;
const CHUNK_MS = 10 * 60_000;
const RECOUNT_MS = 60 * 60_000;
const ZERO: Spend = { tokens: 0, usd: 0 };
const add = (...xs: Spend[]): Spend => ({ tokens: xs.reduce((n, x) => n + x.tokens, 0), usd: xs.reduce((n, x) => n + x.usd, 0) });
const iso = (t: number) => new Date(t).toISOString();

const dayStart = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};
const monthStart = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const nextDay = (t: number) => dayStart(t) + 86_400_000;
const nextMonth = (t: number) => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

/**
 * Spend caps per UTC day and month, in tokens and USD. Spend so far comes
 * from the sync log at start and from each attempt after; a request that
 * would cross a cap is held until the period turns (or the cap is raised).
 *
 * Shared (several instances on one ledger): the totals are re-read from the ledger at most every
 * `refreshMs`, in the background (check() never waits for it), plus what this process recorded
 * since the read of the ledger's open end was sent. What it recorded before is in that read (an
 * attempt is recorded after it is committed), so nothing is counted twice; what it records while that
 * one query is under way is counted (perhaps twice, for a moment) until the next re-read. A cap the
 * cluster reaches holds every instance within about `refreshMs`.
 */
export class Budget {
  private day: Period;
  private month: Period;
  private outputSeen = { tokens: 0, calls: 0 };
  private readonly shared: (Required<Pick<BudgetSharing, 'refreshMs'>> & BudgetSharing & { ledger: SpendLedgerPort }) | undefined;
  /** Shared: what this process recorded since the last re-read was sent. */
  private recorded: Array<{ seq: number; at: number; tokens: number; usd: number }> = [];
  private seq = 0;
  private refreshing: Promise<void> | undefined;
  private lastRefresh = -Infinity;
  private frozen: Frozen | undefined;

  constructor(
    private readonly caps: Caps,
    spent: { day: { tokens: number; usd: number }; month: { tokens: number; usd: number } },
    private readonly now: () => number = Date.now,
    sharing?: BudgetSharing & { ledger: SpendLedgerPort },
  ) {
    const t = now();
    this.day = { start: dayStart(t), ...spent.day };
    this.month = { start: monthStart(t), ...spent.month };
    this.shared = sharing ? { ...sharing, refreshMs: sharing.refreshMs ?? 1000 } : undefined;
  }

  /** Spend so far this day and month, from the ledger. With `sharing`, kept up with the ledger after. */
  static async open(caps: Caps, ledger: SpendLedgerPort, now: () => number = Date.now, sharing?: BudgetSharing): Promise<Budget> {
    if (sharing) {
      const b = new Budget(caps, { day: ZERO, month: ZERO }, now, { ...sharing, ledger });
      await b.refresh();
      return b;
    }
    const t = now();
    const [day, month] = await Promise.all([ledger.since(new Date(dayStart(t)).toISOString()), ledger.since(new Date(monthStart(t)).toISOString())]);
    return new Budget(caps, { day, month }, now);
  }

  /**
   * Shared: re-reads the ledger now (one re-read at a time: a call while one is under way waits for
   * that one). Rejects when the ledger cannot be read; the totals are then left as they were.
   */
  refresh(): Promise<void> {
    if (!this.shared) return Promise.resolve();
    this.refreshing ??= this.reread().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private refreshIfDue(): void {
    const s = this.shared;
    if (!s || this.refreshing || this.now() - this.lastRefresh < s.refreshMs) return;
    this.refresh().catch((err: unknown) => s.onError?.(err));
  }

  private async reread(): Promise<void> {
    const { ledger, range } = this.shared!;
    const t = this.now();
    this.lastRefresh = t;
    // What this process recorded up to the read of the ledger's open end is in that read.
    let issued = this.seq;
    const ds = dayStart(t);
    const ms = monthStart(t);
    let day: Spend;
    let month: Spend;
    let frozen: Frozen | undefined;
    if (!range) {
      [day, month] = await Promise.all([ledger.since(iso(ds)), ledger.since(iso(ms))]);
    } else {
      const old = this.frozen;
      const f: Frozen =
        old && old.monthStart === ms && t - old.since < RECOUNT_MS ? { ...old } : { monthStart: ms, dayStart: ds, upTo: ms, month: ZERO, day: ZERO, since: t };
      if (f.dayStart !== ds) {
        // The day turned: the closed stretch's part in the new day (normally none yet).
        f.dayStart = ds;
        f.day = f.upTo > ds ? await range.between(iso(ds), iso(f.upTo)) : ZERO;
      }
      const target = Math.max(ms, Math.floor((t - SETTLED_MS) / CHUNK_MS) * CHUNK_MS);
      if (target > f.upTo) {
        const lo = f.upTo;
        const [before, within] = await Promise.all([
          lo < ds ? range.between(iso(lo), iso(Math.min(ds, target))) : ZERO,
          target > ds ? range.between(iso(Math.max(lo, ds)), iso(target)) : ZERO,
        ]);
        f.month = add(f.month, before, within);
        f.day = add(f.day, within);
        f.upTo = target;
      }
      issued = this.seq;
      const [tail, dayOnly] = await Promise.all([ledger.since(iso(f.upTo)), f.upTo < ds ? ledger.since(iso(ds)) : undefined]);
      month = add(f.month, tail);
      day = dayOnly ?? add(f.day, tail);
      frozen = f;
    }
    // A period that turned while reading: this read is for the old one; the next re-read counts the new one.
    const n = this.now();
    if (dayStart(n) !== ds || monthStart(n) !== ms) return;
    if (frozen) this.frozen = frozen;
    this.recorded = this.recorded.filter((r) => r.seq > issued);
    const own = (from: number) => add(ZERO, ...this.recorded.filter((r) => r.at >= from));
    this.day = { start: ds, ...add(day, own(ds)) };
    this.month = { start: ms, ...add(month, own(ms)) };
  }

  get enabled(): boolean {
    return !!(this.caps.daily || this.caps.monthly);
  }

  private roll(): void {
    const t = this.now();
    if (dayStart(t) !== this.day.start) this.day = { start: dayStart(t), tokens: 0, usd: 0 };
    if (monthStart(t) !== this.month.start) this.month = { start: monthStart(t), tokens: 0, usd: 0 };
  }

  /** Output tokens to expect per call: the running average, before any call a modest guess. */
  expectedOutputTokens(): number {
    return this.outputSeen.calls ? Math.ceil(this.outputSeen.tokens / this.outputSeen.calls) : 200;
  }

  record(tokens: number, usd: number | null, outputTokens?: number): void {
    this.roll();
    for (const p of [this.day, this.month]) {
      p.tokens += tokens;
      p.usd += usd ?? 0;
    }
    if (this.shared) this.recorded.push({ seq: ++this.seq, at: this.now(), tokens, usd: usd ?? 0 });
    if (outputTokens) {
      this.outputSeen.tokens += outputTokens;
      this.outputSeen.calls += 1;
    }
  }

  /** Throws BudgetHeldError when this request would cross a cap. */
  check(tokens: number, usd: number | null): void {
    if (!this.enabled) return;
    this.refreshIfDue();
    this.roll();
    const t = this.now();
    const over = (cap: Caps['daily'], p: Period, name: string, until: number) => {
      if (!cap) return;
      if (cap.tokens !== undefined && p.tokens + tokens > cap.tokens) {
        throw new BudgetHeldError(`held: budget. The ${name} token cap (${cap.tokens}) is reached: ${p.tokens} used, this request needs about ${tokens}.`, new Date(until));
      }
      if (cap.usd !== undefined && p.usd + (usd ?? 0) > cap.usd) {
        throw new BudgetHeldError(`held: budget. The ${name} spend cap ($${cap.usd}) is reached: $${p.usd.toFixed(4)} spent, this request costs about $${(usd ?? 0).toFixed(6)}.`, new Date(until));
      }
    };
    over(this.caps.daily, this.day, 'daily', nextDay(t));
    over(this.caps.monthly, this.month, 'monthly', nextMonth(t));
  }

  snapshot() {
    this.refreshIfDue();
    this.roll();
    return { caps: this.caps, today: { tokens: this.day.tokens, usd: this.day.usd }, month: { tokens: this.month.tokens, usd: this.month.usd } };
  }
}
