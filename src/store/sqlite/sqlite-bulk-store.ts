import type { SqliteDatabase } from './sqlite-database.js';
import { movesTo } from './sqlite-transitions.js';
import type { SqliteJobStore } from './sqlite-job-store.js';
import { SUBMITTING, type BulkMode, type BulkRun, type NewJob, type RunsPort, type StoredBatch } from '../ports.js';
import { toBatch, toRun } from '../run-rows.js';

type Row = Record<string, unknown>;

/** Bulk runs (their enumeration cursor) and OpenAI batches: what lets `sync --all` resume instead of paying again. */
export class SqliteBulkStore implements RunsPort {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly jobs: SqliteJobStore,
  ) {}

  async run(id: string): Promise<BulkRun | undefined> {
    const r = this.db.prepare('SELECT * FROM bulk_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  /** The newest run with these parameters (a finished run is followed by `<key>.2`, `<key>.3`, …). */
  async latestRun(key: string): Promise<BulkRun | undefined> {
    const r = this.db.prepare(`SELECT * FROM bulk_runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC, rowid DESC LIMIT 1`).get(key, `${key}.%`) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  async runCount(key: string): Promise<number> {
    return (this.db.prepare(`SELECT count(*) AS n FROM bulk_runs WHERE id = ? OR id LIKE ?`).get(key, `${key}.%`) as { n: number }).n;
  }

  async createRun(id: string, mode: BulkMode, params: Record<string, unknown>, now = Date.now()): Promise<BulkRun> {
    this.db
      .prepare(`INSERT INTO bulk_runs (id, mode, params_json, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)
                ON CONFLICT(id) DO UPDATE SET status = 'running', finished_at = NULL, updated_at = excluded.updated_at`)
      .run(id, mode, JSON.stringify(params), now, now);
    return (await this.run(id))!;
  }

  /** One page of customers becomes jobs, and the cursor moves, in one transaction: a crash between pages loses nothing. */
  async addPage(runId: string, page: number, jobs: NewJob[], total: number | null, now = Date.now()): Promise<number> {
    return this.db.transaction(() => {
      const added = this.jobs.insertRunJobsNow(jobs, now);
      this.db
        .prepare('UPDATE bulk_runs SET next_page = ?, enumerated = enumerated + ?, total = coalesce(?, total), updated_at = ? WHERE id = ?')
        .run(page + 1, jobs.length, total, now, runId);
      return added;
    }).immediate();
  }

  async finishEnumeration(runId: string, now = Date.now()): Promise<void> {
    this.db.prepare(`UPDATE bulk_runs SET next_page = -1, updated_at = ? WHERE id = ?`).run(now, runId);
  }

  async finishRun(runId: string, now = Date.now()): Promise<void> {
    this.db.prepare(`UPDATE bulk_runs SET status = 'done', finished_at = ?, updated_at = ? WHERE id = ?`).run(now, now, runId);
  }

  async finishedKeys(runId: string): Promise<Set<string>> {
    const rows = this.db.prepare(`SELECT customer_id FROM jobs WHERE run_id = ? AND state IN ('written', 'skipped', 'failed') AND customer_id IS NOT NULL`).all(runId) as Array<{ customer_id: string }>;
    return new Set(rows.map((r) => r.customer_id));
  }

  async recordSubmission(b: { id: string; runId: string; inputFileId: string; lines: number }, jobIds: number[], now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO batches (id, run_id, input_file_id, status, lines, next_poll_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(b.id, b.runId, b.inputFileId, SUBMITTING, b.lines, Number.MAX_SAFE_INTEGER, now, now);
      this.jobs.markBatchedNow(jobIds, b.id, now);
    }).immediate();
  }

  async updateBatch(id: string, fields: { status: string; outputFileId?: string | null; errorFileId?: string | null; nextPollAt: number }, now = Date.now()): Promise<void> {
    this.db
      .prepare(`UPDATE batches SET status = ?, output_file_id = coalesce(?, output_file_id), error_file_id = coalesce(?, error_file_id),
                next_poll_at = ?, polls = polls + 1, updated_at = ? WHERE id = ?`)
      .run(fields.status, fields.outputFileId ?? null, fields.errorFileId ?? null, fields.nextPollAt, now, id);
  }

  async markApplied(id: string, now = Date.now()): Promise<void> {
    this.db.prepare('UPDATE batches SET applied = 1, updated_at = ? WHERE id = ?').run(now, id);
  }

  async openBatches(runId?: string): Promise<StoredBatch[]> {
    const rows = (runId
      ? this.db.prepare(`SELECT * FROM batches WHERE applied = 0 AND run_id = ? AND status <> 'submitting' ORDER BY created_at`).all(runId)
      : this.db.prepare(`SELECT * FROM batches WHERE applied = 0 AND status <> 'submitting' ORDER BY created_at`).all()) as Row[];
    return rows.map(toBatch);
  }

  /** The created batch takes the place of its recorded intent (same jobs, OpenAI's id). */
  async confirmSubmission(localId: string, b: { id: string; inputFileId: string; status: string; nextPollAt: number }, now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('UPDATE batches SET id = ?, input_file_id = ?, status = ?, next_poll_at = ?, updated_at = ? WHERE id = ?').run(b.id, b.inputFileId, b.status, b.nextPollAt, now, localId);
      this.db.prepare('UPDATE jobs SET batch_id = ?, updated_at = ? WHERE batch_id = ?').run(b.id, now, localId);
    })();
  }

  /** No batch came of the intent: its jobs wait again for the next file. */
  async dropSubmission(localId: string, now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE jobs SET state = 'pending', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND state = 'batched' AND ${movesTo("'pending'")}`).run(now, localId);
      this.db.prepare('DELETE FROM batches WHERE id = ?').run(localId);
    })();
  }

  async batches(runId: string): Promise<StoredBatch[]> {
    return (this.db.prepare('SELECT * FROM batches WHERE run_id = ? ORDER BY created_at').all(runId) as Row[]).map(toBatch);
  }

  async batch(id: string): Promise<StoredBatch | undefined> {
    const r = this.db.prepare('SELECT * FROM batches WHERE id = ?').get(id) as Row | undefined;
    return r ? toBatch(r) : undefined;
  }

  async claimApply(id: string, owner: string, leaseMs: number, now = Date.now()): Promise<boolean> {
    const r = this.db
      .prepare(`UPDATE batches SET apply_owner = @owner, apply_until = @until, updated_at = @now
                WHERE id = @id AND applied = 0 AND status <> '${SUBMITTING}' AND (apply_owner IS NULL OR apply_owner = @owner OR apply_until <= @now)`)
      .run({ id, owner, until: now + leaseMs, now });
    return r.changes === 1;
  }

  async releaseApply(id: string, owner: string): Promise<void> {
    this.db.prepare('UPDATE batches SET apply_owner = NULL, apply_until = NULL WHERE id = ? AND apply_owner = ?').run(id, owner);
  }
}
