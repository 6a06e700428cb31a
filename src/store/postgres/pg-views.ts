import type { ActivityFilter, ActivityItem, ActivityQuery, Facets, PromptVersionOutcomes, ViewsPort } from '../ports.js';
import { ACTIVITY_COLUMNS, OUTCOME_WHERE, promptVersionSql, toActivityItem, toPromptVersionOutcomes } from '../view-rows.js';
import type { PgDatabase } from './pg-database.js';
import { PgQueueViews } from './pg-queue-views.js';
import { PgTotals } from './pg-totals.js';

/**
 * The dashboard's, the CSV export's and /metrics' read models over the sync log, small columns only.
 * finished_at has an index here (the SQLite adapter binary-searches ids instead); ISO text in the "C"
 * collation compares as time. Totals and series live in pg-totals.ts, jobs and runs in pg-queue-views.ts.
 */
export class PgViews implements ViewsPort {
  private readonly totals: PgTotals;
  private readonly queueViews: PgQueueViews;

  constructor(private readonly db: PgDatabase) {
    this.totals = new PgTotals(db);
    this.queueViews = new PgQueueViews(db);
  }

  private where(q: ActivityFilter, values: unknown[]): string {
    const where: string[] = [];
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
    if (q.outcome) where.push(OUTCOME_WHERE[q.outcome]);
    if (q.trigger) where.push(`trigger = ${p(q.trigger)}`);
    if (q.errorCode) where.push(`error_code = ${p(q.errorCode)}`);
    if (q.since) where.push(`finished_at >= ${p(q.since)}`);
    if (q.until) where.push(`finished_at < ${p(q.until)}`);
    return where.length ? `WHERE ${where.join(' AND ')}` : '';
  }

  async activity(q: ActivityQuery): Promise<{ total: number; items: ActivityItem[] }> {
    const values: unknown[] = [];
    const clause = this.where(q, values);
    const [count, page] = await Promise.all([
      this.db.query(`SELECT count(*) AS n FROM sync_attempts ${clause}`, values),
      this.db.query(`SELECT ${ACTIVITY_COLUMNS} FROM sync_attempts ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [...values, q.limit, q.offset]),
    ]);
    return { total: count.rows[0].n as number, items: page.rows.map(toActivityItem) };
  }

  async activityRows(filter: ActivityFilter, page: { beforeId?: number | undefined; limit: number }): Promise<ActivityItem[]> {
    const values: unknown[] = [];
    let clause = this.where(filter, values);
    if (page.beforeId !== undefined) clause += `${clause ? ' AND' : 'WHERE'} id < $${values.push(page.beforeId)}`;
    const rows = await this.db.query(`SELECT ${ACTIVITY_COLUMNS} FROM sync_attempts ${clause} ORDER BY id DESC LIMIT $${values.push(page.limit)}`, values);
    return rows.rows.map(toActivityItem);
  }

  async activityFacets(since: string): Promise<Facets> {
    const [triggers, codes] = await Promise.all([
      this.db.query(`SELECT trigger AS value, count(*) AS attempts FROM sync_attempts WHERE finished_at >= $1 GROUP BY trigger ORDER BY attempts DESC, value`, [since]),
      this.db.query(`SELECT error_code AS value, count(*) AS attempts FROM sync_attempts WHERE finished_at >= $1 AND error_code IS NOT NULL GROUP BY error_code ORDER BY attempts DESC, value`, [since]),
    ]);
    return { triggers: triggers.rows as Facets['triggers'], errorCodes: codes.rows as Facets['errorCodes'] };
  }

  async promptVersionOutcomes(since: string, until?: string): Promise<PromptVersionOutcomes[]> {
    const range = until === undefined ? 'finished_at >= $1' : 'finished_at >= $1 AND finished_at < $2';
    const rows = await this.db.query(promptVersionSql(range), until === undefined ? [since] : [since, until]);
    return toPromptVersionOutcomes(rows.rows);
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
