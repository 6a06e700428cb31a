import type { SqliteDatabase } from './sqlite-database.js';
import type { ActivityItem, ActivityQuery, DayTotals, Outcome, OutcomeTotals, ViewsPort } from '../ports.js';

/**
 * Read-only queries for the dashboard and /metrics over the sync log. They take the
 * database and select only the small columns (never the request/response JSON)
 * so a page refresh stays cheap on a log with millions of rows.
 */

type Row = Record<string, unknown>;
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

export class DashboardQueries implements ViewsPort {
  private readonly s;

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      idAtOrAfter: db.prepare('SELECT id, finished_at FROM sync_attempts WHERE id >= ? ORDER BY id LIMIT 1'),
      idRange: db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM sync_attempts'),
      series: db.prepare(`SELECT CAST((julianday(finished_at) - julianday(@since)) * 86400000 / @bucketMs AS INTEGER) AS b, outcome, count(*) AS n
          FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since AND finished_at < @until GROUP BY b, outcome`),
      day: db.prepare(`SELECT outcome, count(*) AS n, sum(request_json IS NOT NULL) AS calls, coalesce(sum(input_tokens), 0) AS input,
            coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cost_usd), 0) AS cost
          FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since GROUP BY outcome`),
      after: db.prepare(`SELECT outcome, count(*) AS count, coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(cached_tokens), 0) AS cachedTokens,
            coalesce(sum(output_tokens), 0) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd, max(id) AS maxId
          FROM sync_attempts WHERE id > ? GROUP BY outcome`),
    };
  }

  /**
   * The first attempt id finished at or after `since`. The log has no index on finished_at, but
   * rows are inserted as attempts finish, so ids follow time: a binary search over the primary
   * key (about 20 lookups for a million rows) replaces a full scan.
   */
  firstIdSince(since: string): number {
    const { lo, hi } = this.s.idRange.get() as { lo: number | null; hi: number | null };
    if (lo === null || hi === null) return 0;
    let low = lo;
    let high = hi + 1;
    while (low < high) {
      const mid = Math.floor((low + high) / 2);
      const r = this.s.idAtOrAfter.get(mid) as { id: number; finished_at: string } | undefined;
      if (!r) high = mid;
      else if (r.finished_at >= since) high = mid;
      else low = r.id + 1;
    }
    return low;
  }

  async activity(q: ActivityQuery): Promise<{ total: number; items: ActivityItem[] }> {
    const where: string[] = [];
    const params: Row = {};
    if (q.q) {
      where.push(`(customer_number LIKE @like ESCAPE '\\' OR requested_ref LIKE @like ESCAPE '\\' OR customer_id = @exact OR trigger LIKE @like ESCAPE '\\' OR error_message LIKE @like ESCAPE '\\')`);
      params.like = `%${q.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      params.exact = q.q;
    }
    if (q.customerNumber) (where.push('customer_number = @customerNumber'), (params.customerNumber = q.customerNumber));
    if (q.customerId) (where.push('customer_id = @customerId'), (params.customerId = q.customerId));
    if (q.requestedRef) (where.push('requested_ref = @requestedRef'), (params.requestedRef = q.requestedRef));
    if (q.outcome) (where.push('outcome = @outcome'), (params.outcome = q.outcome));
    if (q.since) {
      where.push('id >= @firstId AND finished_at >= @since');
      params.firstId = this.firstIdSince(q.since);
      params.since = q.since;
    }
    if (q.until) (where.push('finished_at < @until'), (params.until = q.until));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM sync_attempts ${clause}`).get(params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${LIST_COLUMNS} FROM sync_attempts ${clause} ORDER BY id DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit: q.limit, offset: q.offset }) as Row[];
    return { total, items: rows.map(toItem) };
  }

  /** Records by outcome per time bucket, oldest bucket first. */
  async outcomeSeries(since: Date, bucketMs: number, buckets: number): Promise<Record<Outcome, number[]>> {
    const out = Object.fromEntries(OUTCOMES.map((o) => [o, new Array<number>(buckets).fill(0)])) as Record<Outcome, number[]>;
    const sinceIso = since.toISOString();
    const until = new Date(since.getTime() + bucketMs * buckets).toISOString();
    const rows = this.s.series.all({ since: sinceIso, until, bucketMs, firstId: this.firstIdSince(sinceIso) }) as Array<{ b: number; outcome: Outcome; n: number }>;
    for (const r of rows) if (r.b >= 0 && r.b < buckets && out[r.outcome]) out[r.outcome][r.b]! += r.n;
    return out;
  }

  async dayTotals(since: Date): Promise<DayTotals> {
    const sinceIso = since.toISOString();
    const t: DayTotals = { synced: 0, skipped: 0, failed: 0, openaiCalls: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
    for (const r of this.s.day.all({ since: sinceIso, firstId: this.firstIdSince(sinceIso) }) as Row[]) {
      t[r.outcome as Outcome] = r.n as number;
      t.openaiCalls += (r.calls as number) ?? 0;
      t.inputTokens += r.input as number;
      t.cachedTokens += r.cached as number;
      t.outputTokens += r.output as number;
      t.costUsd += r.cost as number;
    }
    return t;
  }

  /** Totals of the attempts after `lastId` (for counters that add what is new since the last scrape). */
  async totalsAfter(lastId: number): Promise<{ maxId: number; rows: OutcomeTotals[] }> {
    const rows = this.s.after.all(lastId) as Array<OutcomeTotals & { maxId: number }>;
    return { maxId: Math.max(lastId, ...rows.map((r) => r.maxId)), rows };
  }
}
