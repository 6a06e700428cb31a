import { JOB_STATES } from '../../queue/job-states.js';
import { JOB_COLUMNS, stateColumn, toJobItem, toRunItem } from '../view-rows.js';
import type { JobItem, JobQuery, RunItem } from '../ports.js';
import type { PgDatabase } from './pg-database.js';

const STATE_COUNTS = JOB_STATES.map((s) => `count(*) FILTER (WHERE state = '${s}') AS ${stateColumn(s)}`).join(', ');

/** The queue as the jobs page and the run history read it: jobs without their answers, runs by state. */
export class PgQueueViews {
  constructor(private readonly db: PgDatabase) {}

  async jobs(q: JobQuery): Promise<{ total: number; items: JobItem[] }> {
    const where: string[] = [];
    const values: unknown[] = [];
    const p = (v: unknown) => `$${values.push(v)}`;
    if (q.state) where.push(`state = ${p(q.state)}`);
    if (q.trigger) where.push(`trigger = ${p(q.trigger)}`);
    if (q.errorCode) where.push(`last_error_code = ${p(q.errorCode)}`);
    if (q.runId) where.push(`run_id = ${p(q.runId)}`);
    if (q.ref) {
      const ref = p(q.ref);
      where.push(`(ref = ${ref} OR customer_id = ${ref})`);
    }
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const [count, page] = await Promise.all([
      this.db.query(`SELECT count(*) AS n FROM jobs ${clause}`, values),
      this.db.query(`SELECT ${JOB_COLUMNS} FROM jobs ${clause} ORDER BY id DESC LIMIT $${values.length + 1} OFFSET $${values.length + 2}`, [...values, q.limit, q.offset]),
    ]);
    return { total: count.rows[0].n as number, items: page.rows.map(toJobItem) };
  }

  async runs(q: { limit: number; offset: number }): Promise<{ total: number; items: RunItem[] }> {
    const [count, page] = await Promise.all([
      this.db.query(`SELECT count(DISTINCT run_id) AS n FROM jobs WHERE run_id IS NOT NULL`),
      // The run's trigger: the smallest label of its jobs (a retried job says `retry`, and `manual` < `retry`).
      this.db.query(
        `SELECT g.*, b.mode, b.status AS bulk_status, b.enumerated, b.total AS expected, b.next_page FROM (
           SELECT run_id, min(id) AS first_id, min(trigger COLLATE "C") AS trigger, min(created_at) AS created_at, max(updated_at) AS updated_at,
             count(*) AS total, ${STATE_COUNTS}
           FROM jobs WHERE run_id IS NOT NULL GROUP BY run_id) g
         LEFT JOIN bulk_runs b ON b.id = g.run_id ORDER BY g.first_id DESC LIMIT $1 OFFSET $2`,
        [q.limit, q.offset],
      ),
    ]);
    return { total: count.rows[0].n as number, items: page.rows.map(toRunItem) };
  }
}
