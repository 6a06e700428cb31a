import { ATTEMPT_OUTCOMES, type AttemptOutcome, type AttemptTotals, type DayTotals, type UsageSeries } from '../ports.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { OUTCOME_SQL } from '../view-rows.js';

type Row = Record<string, unknown>;

const BUCKET_SQL = `CAST((julianday(finished_at) - julianday(@since)) * 86400000 / @bucketMs AS INTEGER)`;

export const zeroByOutcome = (): Record<AttemptOutcome, number> => ({ synced: 0, skipped: 0, failed: 0, retrying: 0 });

/**
 * Counts and sums over the sync log for the overview, the usage chart and /metrics: attempts by
 * outcome (per day, per time bucket, by id range) and records by their latest attempt. Time ranges
 * start at the first id finished then (`firstIdSince`: ids follow time), so none scans the whole log.
 */
export class SqliteTotals {
  private readonly s;

  constructor(
    db: SqliteDatabase,
    private readonly firstIdSince: (since: string) => number,
  ) {
    this.s = {
      series: db.prepare(`SELECT ${BUCKET_SQL} AS b, ${OUTCOME_SQL} AS outcome, count(*) AS n
          FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since AND finished_at < @until GROUP BY b, 2`),
      usage: db.prepare(`SELECT ${BUCKET_SQL} AS b, sum(request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
            coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0) AS cost
          FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since AND finished_at < @until GROUP BY b`),
      day: db.prepare(`SELECT ${OUTCOME_SQL} AS outcome, count(*) AS n, sum(request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
            coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0) AS cost
          FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since GROUP BY 1`),
      range: db.prepare(`SELECT ${OUTCOME_SQL} AS outcome, count(*) AS count, coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(cached_tokens), 0) AS cachedTokens,
            coalesce(sum(output_tokens), 0) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd
          FROM sync_attempts WHERE id > @afterId AND id <= @throughId GROUP BY 1 ORDER BY 1`),
      records: db.prepare('SELECT status, count(*) AS n FROM records GROUP BY status'),
      // Few records are failed at a time: only those are looked up to tell a retried one from a final one.
      retrying: db.prepare(`SELECT count(*) AS n FROM records r JOIN sync_attempts a ON a.id = r.last_attempt_id WHERE r.status = 'failed' AND a.next_try_at IS NOT NULL`),
    };
  }

  async outcomeSeries(since: Date, bucketMs: number, buckets: number): Promise<Record<AttemptOutcome, number[]>> {
    const out = Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, new Array<number>(buckets).fill(0)])) as Record<AttemptOutcome, number[]>;
    for (const r of this.s.series.all(this.window(since, bucketMs, buckets)) as Array<{ b: number; outcome: AttemptOutcome; n: number }>) {
      if (r.b >= 0 && r.b < buckets && out[r.outcome]) out[r.outcome][r.b]! += r.n;
    }
    return out;
  }

  async usageSeries(since: Date, bucketMs: number, buckets: number): Promise<UsageSeries> {
    const zeros = () => new Array<number>(buckets).fill(0);
    const out: UsageSeries = { openaiCalls: zeros(), inputTokens: zeros(), cachedTokens: zeros(), outputTokens: zeros(), costUsd: zeros() };
    for (const r of this.s.usage.all(this.window(since, bucketMs, buckets)) as Row[]) {
      const b = r.b as number;
      if (b < 0 || b >= buckets) continue;
      out.openaiCalls[b]! += (r.calls as number) ?? 0;
      out.inputTokens[b]! += r.input as number;
      out.cachedTokens[b]! += r.cached as number;
      out.outputTokens[b]! += r.output as number;
      out.costUsd[b]! += r.cost as number;
    }
    return out;
  }

  async dayTotals(since: Date): Promise<DayTotals> {
    const sinceIso = since.toISOString();
    const t: DayTotals = { attempts: zeroByOutcome(), openaiCalls: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
    for (const r of this.s.day.all({ since: sinceIso, firstId: this.firstIdSince(sinceIso) }) as Row[]) {
      t.attempts[r.outcome as AttemptOutcome] = r.n as number;
      t.openaiCalls += (r.calls as number) ?? 0;
      t.inputTokens += r.input as number;
      t.cachedTokens += r.cached as number;
      t.outputTokens += r.output as number;
      t.costUsd += r.cost as number;
    }
    return t;
  }

  async attemptTotals(afterId: number, throughId = Number.MAX_SAFE_INTEGER): Promise<AttemptTotals[]> {
    return this.s.range.all({ afterId, throughId }) as unknown as AttemptTotals[];
  }

  /** One writer commits in id order, so every attempt before the first one finished since then is settled. */
  async settledAttemptId(finishedBefore: string): Promise<number> {
    return Math.max(0, this.firstIdSince(finishedBefore) - 1);
  }

  async recordCounts(): Promise<Record<AttemptOutcome, number>> {
    const out = zeroByOutcome();
    for (const r of this.s.records.all() as Array<{ status: AttemptOutcome; n: number }>) if (r.status in out) out[r.status] += r.n;
    const retrying = (this.s.retrying.get() as { n: number }).n;
    out.failed -= retrying;
    out.retrying += retrying;
    return out;
  }

  private window(since: Date, bucketMs: number, buckets: number) {
    const sinceIso = since.toISOString();
    return { since: sinceIso, until: new Date(since.getTime() + bucketMs * buckets).toISOString(), bucketMs, firstId: this.firstIdSince(sinceIso) };
  }
}
