import type { ConnectorConfig } from '../config/schema.js';
import { BudgetHeldError } from '../shared/errors.js';
import type { SpendLedgerPort } from '../store/ports.js';

type Caps = ConnectorConfig['budget'];
interface Period {
  start: number;
  tokens: number;
  usd: number;
}

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
 */
export class Budget {
  private day: Period;
  private month: Period;
  private outputSeen = { tokens: 0, calls: 0 };

  constructor(
    private readonly caps: Caps,
    spent: { day: { tokens: number; usd: number }; month: { tokens: number; usd: number } },
    private readonly now: () => number = Date.now,
  ) {
    const t = now();
    this.day = { start: dayStart(t), ...spent.day };
    this.month = { start: monthStart(t), ...spent.month };
  }

  /** Spend so far this day and month, from the ledger. */
  static async open(caps: Caps, ledger: SpendLedgerPort, now: () => number = Date.now): Promise<Budget> {
    const t = now();
    const [day, month] = await Promise.all([ledger.since(new Date(dayStart(t)).toISOString()), ledger.since(new Date(monthStart(t)).toISOString())]);
    return new Budget(caps, { day, month }, now);
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
    if (outputTokens) {
      this.outputSeen.tokens += outputTokens;
      this.outputSeen.calls += 1;
    }
  }

  /** Throws BudgetHeldError when this request would cross a cap. */
  check(tokens: number, usd: number | null): void {
    if (!this.enabled) return;
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
    this.roll();
    return { caps: this.caps, today: { tokens: this.day.tokens, usd: this.day.usd }, month: { tokens: this.month.tokens, usd: this.month.usd } };
  }
}
