import { SUBMITTING, type BulkMode, type BulkRun, type NewJob, type RunsPort, type StoredBatch } from '../ports.js';
import { toBatch, toRun } from '../run-rows.js';
import type { PgDatabase, Row } from './pg-database.js';
import type { PgQueue } from './pg-queue.js';
import { movesTo } from './pg-schema.js';

/** Bulk runs (their enumeration cursor) and OpenAI batches in PostgreSQL. */
export class PgRuns implements RunsPort {
  constructor(
    private readonly db: PgDatabase,
    private readonly jobs: PgQueue,
  ) {}

  async run(id: string): Promise<BulkRun | undefined> {
    const r = (await this.db.query('SELECT * FROM bulk_runs WHERE id = $1', [id])).rows[0];
    return r ? toRun(r) : undefined;
  }

  /** The newest run whose id is `key` or `key.<suffix>` (the key is matched as text, not as a LIKE pattern). */
  async latestRun(key: string): Promise<BulkRun | undefined> {
    const r = (await this.db.query('SELECT * FROM bulk_runs WHERE id = $1 OR starts_with(id, $2) ORDER BY created_at DESC, seq DESC LIMIT 1', [key, `${key}.`])).rows[0];
    return r ? toRun(r) : undefined;
  }

  async runCount(key: string): Promise<number> {
    return (await this.db.query('SELECT count(*) AS n FROM bulk_runs WHERE id = $1 OR starts_with(id, $2)', [key, `${key}.`])).rows[0].n as number;
  }

  async createRun(id: string, mode: BulkMode, params: Record<string, unknown>, now?: number): Promise<BulkRun> {
    const t = await this.db.clock(now);
    const r = (
      await this.db.query(
        `INSERT INTO bulk_runs (id, mode, params_json, status, created_at, updated_at) VALUES ($1, $2, $3, 'running', $4, $4)
         ON CONFLICT (id) DO UPDATE SET status = 'running', finished_at = NULL, updated_at = excluded.updated_at RETURNING *`,
        [id, mode, JSON.stringify(params), t],
      )
    ).rows[0];
    return toRun(r);
  }

  /** One page of customers becomes jobs, and the cursor moves, in one transaction: a crash between pages loses nothing. */
  async addPage(runId: string, page: number, jobs: NewJob[], total: number | null, now?: number): Promise<number> {
    return this.db.tx(
      async (c, t) => {
        const added = await this.jobs.insertRunJobsOn(c, jobs, t);
        await c.query('UPDATE bulk_runs SET next_page = $1, enumerated = enumerated + $2, total = coalesce($3, total), updated_at = $4 WHERE id = $5', [page + 1, jobs.length, total, t, runId]);
        return added;
      },
      { now },
    );
  }

  async finishEnumeration(runId: string, now?: number): Promise<void> {
    const t = await this.db.clock(now);
    await this.db.query('UPDATE bulk_runs SET next_page = -1, updated_at = $1 WHERE id = $2', [t, runId]);
  }

  async finishRun(runId: string, now?: number): Promise<void> {
    const t = await this.db.clock(now);
    await this.db.query(`UPDATE bulk_runs SET status = 'done', finished_at = $1, updated_at = $1 WHERE id = $2`, [t, runId]);
  }

  async finishedKeys(runId: string): Promise<Set<string>> {
    const rows = (await this.db.query(`SELECT customer_id FROM jobs WHERE run_id = $1 AND state IN ('written', 'skipped', 'failed') AND customer_id IS NOT NULL`, [runId])).rows;
    return new Set(rows.map((r) => r.customer_id as string));
  }

  async recordSubmission(b: { id: string; runId: string; inputFileId: string; lines: number }, jobIds: number[], now?: number): Promise<void> {
    await this.db.tx(
      async (c, t) => {
        await c.query(`INSERT INTO batches (id, run_id, input_file_id, status, lines, next_poll_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, [
          b.id, b.runId, b.inputFileId, SUBMITTING, b.lines, Number.MAX_SAFE_INTEGER, t,
        ]);
        await this.jobs.markBatchedOn(c, jobIds, b.id, t);
      },
      { now },
    );
  }

  async confirmSubmission(localId: string, b: { id: string; inputFileId: string; status: string; nextPollAt: number }, now?: number): Promise<void> {
    await this.db.tx(
      async (c, t) => {
        await c.query('UPDATE batches SET id = $1, input_file_id = $2, status = $3, next_poll_at = $4, updated_at = $5 WHERE id = $6', [b.id, b.inputFileId, b.status, b.nextPollAt, t, localId]);
        await c.query('UPDATE jobs SET batch_id = $1, updated_at = $2 WHERE batch_id = $3', [b.id, t, localId]);
      },
      { now },
    );
  }

  async dropSubmission(localId: string, now?: number): Promise<void> {
    await this.db.tx(
      async (c, t) => {
        await c.query(`UPDATE jobs SET state = 'pending', batch_id = NULL, updated_at = $1 WHERE batch_id = $2 AND state = 'batched' AND ${movesTo("'pending'")}`, [t, localId]);
        await c.query('DELETE FROM batches WHERE id = $1', [localId]);
      },
      { now },
    );
  }

  async updateBatch(id: string, fields: { status: string; outputFileId?: string | null; errorFileId?: string | null; nextPollAt: number }, now?: number): Promise<void> {
    const t = await this.db.clock(now);
    await this.db.query(
      `UPDATE batches SET status = $1, output_file_id = coalesce($2, output_file_id), error_file_id = coalesce($3, error_file_id),
         next_poll_at = $4, polls = polls + 1, updated_at = $5 WHERE id = $6`,
      [fields.status, fields.outputFileId ?? null, fields.errorFileId ?? null, fields.nextPollAt, t, id],
    );
  }

  async markApplied(id: string, now?: number): Promise<void> {
    const t = await this.db.clock(now);
    await this.db.query('UPDATE batches SET applied = true, updated_at = $1 WHERE id = $2', [t, id]);
  }

  async openBatches(runId?: string): Promise<StoredBatch[]> {
    const rows = (runId
      ? await this.db.query(`SELECT * FROM batches WHERE NOT applied AND run_id = $1 AND status <> $2 ORDER BY created_at, seq`, [runId, SUBMITTING])
      : await this.db.query(`SELECT * FROM batches WHERE NOT applied AND status <> $1 ORDER BY created_at, seq`, [SUBMITTING])
    ).rows;
    return rows.map(toBatch);
  }

  async batches(runId: string): Promise<StoredBatch[]> {
    return (await this.db.query('SELECT * FROM batches WHERE run_id = $1 ORDER BY created_at, seq', [runId])).rows.map(toBatch);
  }

  async batch(id: string): Promise<StoredBatch | undefined> {
    const r = (await this.db.query('SELECT * FROM batches WHERE id = $1', [id])).rows[0];
    return r ? toBatch(r) : undefined;
  }

  /** One UPDATE: of instances claiming at once, the row lock lets one through and the others re-check and fail. */
  async claimApply(id: string, owner: string, leaseMs: number, now?: number): Promise<boolean> {
    const t = await this.db.clock(now);
    const res = await this.db.query(
      `UPDATE batches SET apply_owner = $2, apply_until = $3, updated_at = $4
       WHERE id = $1 AND NOT applied AND status <> $5 AND (apply_owner IS NULL OR apply_owner = $2 OR apply_until <= $4)`,
      [id, owner, t + leaseMs, t, SUBMITTING],
    );
    return res.rowCount === 1;
  }

  async releaseApply(id: string, owner: string): Promise<void> {
    await this.db.query('UPDATE batches SET apply_owner = NULL, apply_until = NULL WHERE id = $1 AND apply_owner = $2', [id, owner]);
  }
}
