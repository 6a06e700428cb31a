import type { SqliteDatabase } from './sqlite-database.js';
import { SqliteQueueViews } from './sqlite-queue-views.js';
import { SqliteTotals } from './sqlite-totals.js';
import { ACTIVITY_COLUMNS, OUTCOME_WHERE, promptVersionSql, toActivityItem, toPromptVersionOutcomes } from '../view-rows.js';
import type { ActivityFilter, ActivityItem, ActivityQuery, Facets, PromptVersionOutcomes, ViewsPort } from '../ports.js';

/**
 * Read-only queries for the dashboard, the CSV export and /metrics over the sync log. They select
 * only the small columns (never the request/response JSON), so a page refresh stays cheap on a log
 * with millions of rows. Totals and series live in sqlite-totals.ts, jobs and runs in sqlite-queue-views.ts.
 */

type Row = Record<string, unknown>;

export class DashboardQueries implements ViewsPort {
  private readonly s;
  private readonly totals: SqliteTotals;
  private readonly queueViews: SqliteQueueViews;

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      idAtOrAfter: db.prepare('SELECT id, finished_at FROM sync_attempts WHERE id >= ? ORDER BY id LIMIT 1'),
      idRange: db.prepare('SELECT min(id) AS lo, max(id) AS hi FROM sync_attempts'),
      triggers: db.prepare('SELECT trigger AS value, count(*) AS attempts FROM sync_attempts WHERE id >= @firstId AND finished_at >= @since GROUP BY trigger ORDER BY attempts DESC, value'),
      codes: db.prepare(`SELECT error_code AS value, count(*) AS attempts FROM sync_attempts
          WHERE id >= @firstId AND finished_at >= @since AND error_code IS NOT NULL GROUP BY error_code ORDER BY attempts DESC, value`),
      promptVersions: db.prepare(promptVersionSql('id >= @firstId AND finished_at >= @since AND finished_at < @until')),
    };
    this.totals = new SqliteTotals(db, (since) => this.firstIdSince(since));
    this.queueViews = new SqliteQueueViews(db);
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

  private where(q: ActivityFilter): { clause: string; params: Row } {
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
    if (q.outcome) where.push(OUTCOME_WHERE[q.outcome]);
    if (q.trigger) (where.push('trigger = @trigger'), (params.trigger = q.trigger));
    if (q.errorCode) (where.push('error_code = @errorCode'), (params.errorCode = q.errorCode));
    if (q.since) {
      where.push('id >= @firstId AND finished_at >= @since');
      params.firstId = this.firstIdSince(q.since);
      params.since = q.since;
    }
    if (q.until) (where.push('finished_at < @until'), (params.until = q.until));
    return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  async activity(q: ActivityQuery): Promise<{ total: number; items: ActivityItem[] }> {
    const { clause, params } = this.where(q);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM sync_attempts ${clause}`).get(params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${ACTIVITY_COLUMNS} FROM sync_attempts ${clause} ORDER BY id DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit: q.limit, offset: q.offset }) as Row[];
    return { total, items: rows.map(toActivityItem) };
  }

  async activityRows(filter: ActivityFilter, page: { beforeId?: number | undefined; limit: number }): Promise<ActivityItem[]> {
    const { clause, params } = this.where(filter);
    const before = page.beforeId === undefined ? '' : `${clause ? ' AND' : 'WHERE'} id < @beforeId`;
    const rows = this.db.prepare(`SELECT ${ACTIVITY_COLUMNS} FROM sync_attempts ${clause}${before} ORDER BY id DESC LIMIT @limit`).all({ ...params, beforeId: page.beforeId ?? null, limit: page.limit }) as Row[];
    return rows.map(toActivityItem);
  }

  async activityFacets(since: string): Promise<Facets> {
    const params = { since, firstId: this.firstIdSince(since) };
    return { triggers: this.s.triggers.all(params) as Facets['triggers'], errorCodes: this.s.codes.all(params) as Facets['errorCodes'] };
  }

  async promptVersionOutcomes(since: string, until?: string): Promise<PromptVersionOutcomes[]> {
    // No upper bound: a time after every ISO timestamp.
    const rows = this.s.promptVersions.all({ since, until: until ?? '9999', firstId: this.firstIdSince(since) }) as Row[];
    return toPromptVersionOutcomes(rows);
  }

  outcomeSeries = (since: Date, bucketMs: number, buckets: number) => this.totals.outcomeSeries(since, bucketMs, buckets);
  usageSeries = (since: Date, bucketMs: number, buckets: number) => this.totals.usageSeries(since, bucketMs, buckets);
  dayTotals = (since: Date) => this.totals.dayTotals(since);
  attemptTotals = (afterId: number, throughId?: number) => this.totals.attemptTotals(afterId, throughId);
  settledAttemptId = (finishedBefore: string) => this.totals.settledAttemptId(finishedBefore);
  recordCounts = () => this.totals.recordCounts();
  jobs: ViewsPort['jobs'] = (q) => this.queueViews.jobs(q);
  runs: ViewsPort['runs'] = (q) => this.queueViews.runs(q);
}
