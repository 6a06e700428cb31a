import type { SqliteDatabase } from './sqlite-database.js';
import { movesTo } from './sqlite-transitions.js';
import type { NewJob } from './sqlite-job-store.js';

export type BulkMode = 'direct' | 'batch';

export interface BulkRun {
  id: string;
  mode: BulkMode;
  params: Record<string, unknown>;
  status: 'running' | 'done';
  nextPage: number;
  enumerated: number;
  total: number | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface StoredBatch {
  id: string;
  runId: string | null;
  inputFileId: string;
  status: string;
  lines: number;
  outputFileId: string | null;
  errorFileId: string | null;
  applied: boolean;
  nextPollAt: number;
  polls: number;
}

type Row = Record<string, unknown>;

const toRun = (r: Row): BulkRun => ({
  id: r.id as string,
  mode: r.mode as BulkMode,
  params: JSON.parse(r.params_json as string) as Record<string, unknown>,
  status: r.status as BulkRun['status'],
  nextPage: r.next_page as number,
  enumerated: r.enumerated as number,
  total: r.total as number | null,
  createdAt: r.created_at as number,
  finishedAt: r.finished_at as number | null,
});

const toBatch = (r: Row): StoredBatch => ({
  id: r.id as string,
  runId: r.run_id as string | null,
  inputFileId: r.input_file_id as string,
  status: r.status as string,
  lines: r.lines as number,
  outputFileId: r.output_file_id as string | null,
  errorFileId: r.error_file_id as string | null,
  applied: r.applied === 1,
  nextPollAt: r.next_poll_at as number,
  polls: r.polls as number,
});

/** Bulk runs (their enumeration cursor) and OpenAI batches: what lets `sync --all` resume instead of paying again. */
export class SqliteBulkStore {
  constructor(private readonly db: SqliteDatabase) {}

  run(id: string): BulkRun | undefined {
    const r = this.db.prepare('SELECT * FROM bulk_runs WHERE id = ?').get(id) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  /** The newest run with these parameters (a finished run is followed by `<key>.2`, `<key>.3`, …). */
  latestRun(key: string): BulkRun | undefined {
    const r = this.db.prepare(`SELECT * FROM bulk_runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC, rowid DESC LIMIT 1`).get(key, `${key}.%`) as Row | undefined;
    return r ? toRun(r) : undefined;
  }

  runCount(key: string): number {
    return (this.db.prepare(`SELECT count(*) AS n FROM bulk_runs WHERE id = ? OR id LIKE ?`).get(key, `${key}.%`) as { n: number }).n;
  }

  createRun(id: string, mode: BulkMode, params: Record<string, unknown>, now = Date.now()): BulkRun {
    this.db
      .prepare(`INSERT INTO bulk_runs (id, mode, params_json, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)
                ON CONFLICT(id) DO UPDATE SET status = 'running', finished_at = NULL, updated_at = excluded.updated_at`)
      .run(id, mode, JSON.stringify(params), now, now);
    return this.run(id)!;
  }

  /** One page of customers becomes jobs, and the cursor moves, in one transaction: a crash between pages loses nothing. */
  addPage(runId: string, page: number, jobs: NewJob[], total: number | null, insert: (jobs: NewJob[]) => number, now = Date.now()): number {
    return this.db.transaction(() => {
      const added = insert(jobs);
      this.db
        .prepare('UPDATE bulk_runs SET next_page = ?, enumerated = enumerated + ?, total = coalesce(?, total), updated_at = ? WHERE id = ?')
        .run(page + 1, jobs.length, total, now, runId);
      return added;
    }).immediate();
  }

  finishEnumeration(runId: string, now = Date.now()): void {
    this.db.prepare(`UPDATE bulk_runs SET next_page = -1, updated_at = ? WHERE id = ?`).run(now, runId);
  }

  finishRun(runId: string, now = Date.now()): void {
    this.db.prepare(`UPDATE bulk_runs SET status = 'done', finished_at = ?, updated_at = ? WHERE id = ?`).run(now, now, runId);
  }

  putBatch(b: Omit<StoredBatch, 'applied' | 'polls' | 'outputFileId' | 'errorFileId'>, now = Date.now()): void {
    this.db
      .prepare(`INSERT INTO batches (id, run_id, input_file_id, status, lines, next_poll_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(b.id, b.runId, b.inputFileId, b.status, b.lines, b.nextPollAt, now, now);
  }

  updateBatch(id: string, fields: { status: string; outputFileId?: string | null; errorFileId?: string | null; nextPollAt: number }, now = Date.now()): void {
    this.db
      .prepare(`UPDATE batches SET status = ?, output_file_id = coalesce(?, output_file_id), error_file_id = coalesce(?, error_file_id),
                next_poll_at = ?, polls = polls + 1, updated_at = ? WHERE id = ?`)
      .run(fields.status, fields.outputFileId ?? null, fields.errorFileId ?? null, fields.nextPollAt, now, id);
  }

  markApplied(id: string, now = Date.now()): void {
    this.db.prepare('UPDATE batches SET applied = 1, updated_at = ? WHERE id = ?').run(now, id);
  }

  openBatches(runId?: string): StoredBatch[] {
    const rows = (runId
      ? this.db.prepare(`SELECT * FROM batches WHERE applied = 0 AND run_id = ? AND status <> 'submitting' ORDER BY created_at`).all(runId)
      : this.db.prepare(`SELECT * FROM batches WHERE applied = 0 AND status <> 'submitting' ORDER BY created_at`).all()) as Row[];
    return rows.map(toBatch);
  }

  /** A batch about to be created: its jobs are marked as in it under a local id, before anything is sent. */
  static readonly SUBMITTING = 'submitting';

  /** The created batch takes the place of its recorded intent (same jobs, OpenAI's id). */
  confirmSubmission(localId: string, b: { id: string; inputFileId: string; status: string; nextPollAt: number }, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE batches SET id = ?, input_file_id = ?, status = ?, next_poll_at = ?, updated_at = ? WHERE id = ?').run(b.id, b.inputFileId, b.status, b.nextPollAt, now, localId);
      this.db.prepare('UPDATE jobs SET batch_id = ?, updated_at = ? WHERE batch_id = ?').run(b.id, now, localId);
    })();
  }

  /** No batch came of the intent: its jobs wait again for the next file. */
  dropSubmission(localId: string, now = Date.now()): void {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE jobs SET state = 'pending', batch_id = NULL, updated_at = ? WHERE batch_id = ? AND state = 'batched' AND ${movesTo("'pending'")}`).run(now, localId);
      this.db.prepare('DELETE FROM batches WHERE id = ?').run(localId);
    })();
  }

  batches(runId: string): StoredBatch[] {
    return (this.db.prepare('SELECT * FROM batches WHERE run_id = ? ORDER BY created_at').all(runId) as Row[]).map(toBatch);
  }
}
