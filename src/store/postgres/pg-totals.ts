import { ATTEMPT_OUTCOMES, type AttemptOutcome, type AttemptTotals, type DayTotals, type UsageSeries } from '../ports.js';
import { OUTCOME_SQL } from '../view-rows.js';
import type { PgDatabase, Row } from './pg-database.js';

const zeroByOutcome = (): Record<AttemptOutcome, number> => ({ synced: 0, skipped: 0, failed: 0, retrying: 0 });
const BUCKET_SQL = `floor((extract(epoch from finished_at::timestamptz) * 1000 - $3) / $4)::bigint`;

/**
 * Counts and sums over the sync log for the overview, the usage chart and /metrics: attempts by
 * outcome (per day, per time bucket, by id range) and records by their latest attempt.
 */
export class PgTotals {
  constructor(private readonly db: PgDatabase) {}

  private window(since: Date, bucketMs: number, buckets: number): unknown[] {
    return [since.toISOString(), new Date(since.getTime() + bucketMs * buckets).toISOString(), since.getTime(), bucketMs];
  }

  async outcomeSeries(since: Date, bucketMs: number, buckets: number): Promise<Record<AttemptOutcome, number[]>> {
    const out = Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, new Array<number>(buckets).fill(0)])) as Record<AttemptOutcome, number[]>;
    const rows = (
      await this.db.query(`SELECT ${BUCKET_SQL} AS b, ${OUTCOME_SQL} AS outcome, count(*) AS n FROM sync_attempts WHERE finished_at >= $1 AND finished_at < $2 GROUP BY 1, 2`, this.window(since, bucketMs, buckets))
    ).rows as Array<{ b: number; outcome: AttemptOutcome; n: number }>;
    for (const r of rows) if (r.b >= 0 && r.b < buckets && out[r.outcome]) out[r.outcome][r.b]! += r.n;
    return out;
  }

  async usageSeries(since: Date, bucketMs: number, buckets: number): Promise<UsageSeries> {
    const zeros = () => new Array<number>(buckets).fill(0);
    const out: UsageSeries = { openaiCalls: zeros(), inputTokens: zeros(), cachedTokens: zeros(), outputTokens: zeros(), costUsd: zeros() };
    const rows = (
      await this.db.query(
        `SELECT ${BUCKET_SQL} AS b, count(*) FILTER (WHERE request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
           coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0)::float8 AS cost
         FROM sync_attempts WHERE finished_at >= $1 AND finished_at < $2 GROUP BY 1`,
        this.window(since, bucketMs, buckets),
      )
    ).rows;
    for (const r of rows) {
      const b = r.b as number;
      if (b < 0 || b >= buckets) continue;
      out.openaiCalls[b]! += r.calls as number;
      out.inputTokens[b]! += r.input as number;
      out.cachedTokens[b]! += r.cached as number;
      out.outputTokens[b]! += r.output as number;
      out.costUsd[b]! += r.cost as number;
    }
    return out;
  }

  async dayTotals(since: Date): Promise<DayTotals> {
    const t: DayTotals = { attempts: zeroByOutcome(), openaiCalls: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
    const rows = (
      await this.db.query(
        `SELECT ${OUTCOME_SQL} AS outcome, count(*) AS n, count(*) FILTER (WHERE request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
           coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0)::float8 AS cost
         FROM sync_attempts WHERE finished_at >= $1 GROUP BY 1`,
        [since.toISOString()],
      )
    ).rows;
    for (const r of rows) {
      t.attempts[r.outcome as AttemptOutcome] = r.n as number;
      t.openaiCalls += r.calls as number;
      t.inputTokens += r.input as number;
      t.cachedTokens += r.cached as number;
      t.outputTokens += r.output as number;
      t.costUsd += r.cost as number;
    }
    return t;
  }

  async attemptTotals(afterId: number, throughId = Number.MAX_SAFE_INTEGER): Promise<AttemptTotals[]> {
    return (
      await this.db.query(
        `SELECT ${OUTCOME_SQL} AS outcome, count(*) AS count, coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(cached_tokens), 0) AS "cachedTokens",
           coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cost_usd), 0)::float8 AS "costUsd"
         FROM sync_attempts WHERE id > $1 AND id <= $2 GROUP BY 1 ORDER BY 1`,
        [afterId, throughId],
      )
    ).rows as AttemptTotals[];
  }

  /**
   * Several instances insert at once, so a higher id can commit before a lower one. The attempt that
   * finished last before `finishedBefore` (minutes ago) is a safe mark: every lower id was inserted
   * earlier still, and no settlement stays open that long. (It assumes the instances' clocks agree
   * to within those minutes.)
   */
  async settledAttemptId(finishedBefore: string): Promise<number> {
    const r = await this.db.query(`SELECT id FROM sync_attempts WHERE finished_at < $1 ORDER BY finished_at DESC, id DESC LIMIT 1`, [finishedBefore]);
    return (r.rows[0]?.id as number | undefined) ?? 0;
  }

  async recordCounts(): Promise<Record<AttemptOutcome, number>> {
    const out = zeroByOutcome();
    const [byStatus, retrying] = await Promise.all([
      this.db.query(`SELECT status, count(*) AS n FROM records GROUP BY status`),
      // Few records are failed at a time: only those are looked up to tell a retried one from a final one.
      this.db.query(`SELECT count(*) AS n FROM records r JOIN sync_attempts a ON a.id = r.last_attempt_id WHERE r.status = 'failed' AND a.next_try_at IS NOT NULL`),
    ]);
    for (const r of byStatus.rows as Row[]) if ((r.status as string) in out) out[r.status as AttemptOutcome] += r.n as number;
    const n = retrying.rows[0].n as number;
    out.failed -= n;
    out.retrying += n;
    return out;
  }
}
