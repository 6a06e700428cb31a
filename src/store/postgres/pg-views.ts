import type { ActivityItem, ActivityQuery, DayTotals, Outcome, OutcomeTotals, ViewsPort } from '../ports.js';
import type { PgDatabase, Row } from './pg-database.js';

const OUTCOMES: readonly Outcome[] = ['synced', 'skipped', 'failed'];

const toItem = (r: Row): ActivityItem => ({
  id: r.id as number,
  startedAt: r.started_at as string,
  finishedAt: r.finished_at as string,
  customerNumber: r.customer_number as string | null,
  customerId: r.customer_id as string | null,
  requestedRef: r.requested_ref as string,
  trigger: r.trigger as string,
  outcome: r.outcome as Outcome,
  errorCode: r.error_code as string | null,
  reason: r.error_message as string | null,
  fix: r.error_fix as string | null,
  totalMs: r.total_ms as number,
  inputTokens: r.input_tokens as number,
  cachedTokens: r.cached_tokens as number,
  outputTokens: r.output_tokens as number,
  costUsd: r.cost_usd as number | null,
  jobId: (r.job_id as number | null) ?? null,
  flags: typeof r.flags === 'string' ? (JSON.parse(r.flags) as string[]) : null,
  instance: (r.instance as string | null) ?? null,
});

const LIST_COLUMNS = `id, started_at, finished_at, customer_number, customer_id, requested_ref, trigger, outcome, error_code, error_message,
  error_fix, total_ms, input_tokens, cached_tokens, output_tokens, cost_usd, job_id, flags, instance`;

/**
 * The dashboard's and /metrics' read models over the sync log, small columns only. finished_at has
 * an index here (the SQLite adapter binary-searches ids instead); ISO text in the "C" collation
 * compares as time.
 */
export class PgViews implements ViewsPort {
  constructor(private readonly db: PgDatabase) {}

  async activity(q: ActivityQuery): Promise<{ total: number; items: ActivityItem[] }> {
    const where: string[] = [];
    const values: unknown[] = [];
    const p = (v: unknown) => `$${values.push(v)}`;
    if (q.q) {
      // Case-insensitive like SQLite's LIKE; the search text's own % _ \ are literal.
      const like = p(`%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const exact = p(q.q);
      where.push(`(customer_number ILIKE ${like} OR requested_ref ILIKE ${like} OR customer_id = ${exact} OR trigger ILIKE ${like} OR error_message ILIKE ${like})`);
    }
    if (q.customerNumber) where.push(`customer_number = ${p(q.customerNumber)}`);
    if (q.customerId) where.push(`customer_id = ${p(q.customerId)}`);
    if (q.requestedRef) where.push(`requested_ref = ${p(q.requestedRef)}`);
    if (q.outcome) where.push(`outcome = ${p(q.outcome)}`);
    if (q.since) where.push(`finished_at >= ${p(q.since)}`);
    if (q.until) where.push(`finished_at < ${p(q.until)}`);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count, page] = await Promise.all([
      this.db.query(`SELECT count(*) AS n FROM sync_attempts ${clause}`, values),
      this.db.query(`SELECT ${LIST_COLUMNS} FROM sync_attempts ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [...values, q.limit, q.offset]),
    ]);
    return { total: count.rows[0].n as number, items: page.rows.map(toItem) };
  }

  /** Records by outcome per time bucket, oldest bucket first. */
  async outcomeSeries(since: Date, bucketMs: number, buckets: number): Promise<Record<Outcome, number[]>> {
    const out = Object.fromEntries(OUTCOMES.map((o) => [o, new Array<number>(buckets).fill(0)])) as Record<Outcome, number[]>;
    const until = new Date(since.getTime() + bucketMs * buckets).toISOString();
    const rows = (
      await this.db.query(
        `SELECT floor((extract(epoch from finished_at::timestamptz) * 1000 - $3) / $4)::bigint AS b, outcome, count(*) AS n
         FROM sync_attempts WHERE finished_at >= $1 AND finished_at < $2 GROUP BY 1, 2`,
        [since.toISOString(), until, since.getTime(), bucketMs],
      )
    ).rows as Array<{ b: number; outcome: Outcome; n: number }>;
    for (const r of rows) if (r.b >= 0 && r.b < buckets && out[r.outcome]) out[r.outcome][r.b]! += r.n;
    return out;
  }

  async dayTotals(since: Date): Promise<DayTotals> {
    const t: DayTotals = { synced: 0, skipped: 0, failed: 0, openaiCalls: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
    const rows = (
      await this.db.query(
        `SELECT outcome, count(*) AS n, count(*) FILTER (WHERE request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
           coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0)::float8 AS cost
         FROM sync_attempts WHERE finished_at >= $1 GROUP BY outcome`,
        [since.toISOString()],
      )
    ).rows;
    for (const r of rows) {
      t[r.outcome as Outcome] = r.n as number;
      t.openaiCalls += r.calls as number;
      t.inputTokens += r.input as number;
      t.cachedTokens += r.cached as number;
      t.outputTokens += r.output as number;
      t.costUsd += r.cost as number;
    }
    return t;
  }

  /** Totals of the attempts after `lastId` (for counters that add what is new since the last scrape). */
  async totalsAfter(lastId: number): Promise<{ maxId: number; rows: OutcomeTotals[] }> {
    const rows = (
      await this.db.query(
        `SELECT outcome, count(*) AS count, coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(cached_tokens), 0) AS "cachedTokens",
           coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cost_usd), 0)::float8 AS "costUsd", max(id) AS "maxId"
         FROM sync_attempts WHERE id > $1 GROUP BY outcome ORDER BY outcome`,
        [lastId],
      )
    ).rows as Array<OutcomeTotals & { maxId: number }>;
    return { maxId: Math.max(lastId, ...rows.map((r) => r.maxId)), rows: rows.map(({ maxId: _, ...r }) => r) };
  }
}
