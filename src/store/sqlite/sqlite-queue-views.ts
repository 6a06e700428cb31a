import { JOB_STATES } from '../../queue/job-states.js';
import { JOB_COLUMNS, stateColumn, toJobItem, toRunItem } from '../view-rows.js';
import type { JobItem, JobQuery, RunItem } from '../ports.js';
import type { SqliteDatabase } from './sqlite-database.js';

type Row = Record<string, unknown>;

const STATE_SUMS = JOB_STATES.map((s) => `sum(state = '${s}') AS ${stateColumn(s)}`).join(', ');

/** The queue as the jobs page and the run history read it: jobs without their answers, runs by state. */
export class SqliteQueueViews {
  private readonly s;

  constructor(private readonly db: SqliteDatabase) {
    this.s = {
      runCount: db.prepare('SELECT count(DISTINCT run_id) AS n FROM jobs WHERE run_id IS NOT NULL'),
      // The run's trigger: the smallest label of its jobs (a retried job says `retry`, and `manual` < `retry`).
      runs: db.prepare(`SELECT g.*, b.mode, b.status AS bulk_status, b.enumerated, b.total AS expected, b.next_page FROM (
            SELECT run_id, min(id) AS first_id, min(trigger) AS trigger, min(created_at) AS created_at, max(updated_at) AS updated_at,
              count(*) AS total, ${STATE_SUMS}
            FROM jobs WHERE run_id IS NOT NULL GROUP BY run_id) g
          LEFT JOIN bulk_runs b ON b.id = g.run_id ORDER BY g.first_id DESC LIMIT @limit OFFSET @offset`),
    };
  }

  async jobs(q: JobQuery): Promise<{ total: number; items: JobItem[] }> {
    const where: string[] = [];
    const params: Row = {};
    if (q.state) (where.push('state = @state'), (params.state = q.state));
    if (q.trigger) (where.push('trigger = @trigger'), (params.trigger = q.trigger));
    if (q.errorCode) (where.push('last_error_code = @errorCode'), (params.errorCode = q.errorCode));
    if (q.runId) (where.push('run_id = @runId'), (params.runId = q.runId));
    if (q.ref) (where.push('(ref = @ref OR customer_id = @ref)'), (params.ref = q.ref));
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM jobs ${clause}`).get(params) as { n: number }).n;
    const rows = this.db.prepare(`SELECT ${JOB_COLUMNS} FROM jobs ${clause} ORDER BY id DESC LIMIT @limit OFFSET @offset`).all({ ...params, limit: q.limit, offset: q.offset }) as Row[];
    return { total, items: rows.map(toJobItem) };
  }

  async runs(q: { limit: number; offset: number }): Promise<{ total: number; items: RunItem[] }> {
    const total = (this.s.runCount.get() as { n: number }).n;
    return { total, items: (this.s.runs.all({ limit: q.limit, offset: q.offset }) as Row[]).map(toRunItem) };
  }
}
