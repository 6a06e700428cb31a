import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { MIGRATIONS } from './migrations.js';
import { openNodeSqlite } from './node-sqlite-driver.js';
import { expandTemplates, TemplateCompactor } from './request-templates.js';
import { SqliteBulkStore } from './sqlite-bulk-store.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqlitePauseStore } from './sqlite-pause-store.js';
import type { SqliteDatabase } from './sqlite-database.js';
import type { AttemptQuery, AttemptRecord, Outcome, RecordState, StoredAttempt, SyncStore } from './sync-store.js';

type Row = Record<string, unknown>;
const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
const unjson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : null);

function toAttempt(r: Row, expand: (doc: unknown) => unknown = (d) => d): StoredAttempt {
  return {
    id: r.id as number,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string,
    trigger: r.trigger as string,
    customerId: r.customer_id as string | null,
    customerNumber: r.customer_number as string | null,
    requestedRef: r.requested_ref as string,
    collection: r.collection as string | null,
    outcome: r.outcome as Outcome,
    errorCode: r.error_code as string | null,
    errorMessage: r.error_message as string | null,
    errorFix: r.error_fix as string | null,
    retryable: r.retryable === 1,
    api: r.api as string | null,
    model: r.model as string | null,
    request: expand(unjson(r.request_json)),
    response: expand(unjson(r.response_json)),
    answer: unjson(r.answer_json),
    writes: unjson(r.writes_json),
    responseId: r.response_id as string | null,
    requestId: r.request_id as string | null,
    inputTokens: r.input_tokens as number,
    cachedTokens: r.cached_tokens as number,
    outputTokens: r.output_tokens as number,
    reasoningTokens: r.reasoning_tokens as number,
    costUsd: r.cost_usd as number | null,
    loadMs: r.load_ms as number | null,
    openaiMs: r.openai_ms as number | null,
    writeMs: r.write_ms as number | null,
    totalMs: r.total_ms as number,
    jobId: (r.job_id as number | null) ?? null,
    flags: unjson(r.flags) as string[] | null,
  };
}

/** The record a sync attempt is about: its CustomerNumber, else its iPaaS id, else what was asked for. */
export function recordKey(a: Pick<AttemptRecord, 'customerNumber' | 'customerId' | 'requestedRef'>): string {
  return a.customerNumber ?? (a.customerId ? `id:${a.customerId}` : `ref:${a.requestedRef}`);
}

export class SqliteStore implements SyncStore {
  readonly db: SqliteDatabase;
  readonly jobs: SqliteJobStore;
  readonly bulk: SqliteBulkStore;
  readonly pauses: SqlitePauseStore;
  private readonly stmts;

  /** Secrets never reach the database: every text column and JSON document passes this redactor. */
  private readonly redact: (text: string) => string;

  private readonly checkpoints: BackgroundCheckpoint | undefined;
  private readonly compactor = new TemplateCompactor();
  private readonly templateCache = new Map<string, string>();

  constructor(
    readonly file: string,
    options: { redact?: (text: string) => string; backgroundCheckpoints?: boolean } = {},
  ) {
    this.redact = options.redact ?? ((t) => t);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = openNodeSqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    if (options.backgroundCheckpoints && file !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints = new BackgroundCheckpoint(file);
    }
    this.migrate();
    this.jobs = new SqliteJobStore(this.db);
    this.bulk = new SqliteBulkStore(this.db);
    this.pauses = new SqlitePauseStore(this.db);
    this.stmts = this.prepareStatements();
  }

  private prepareStatements() {
    const insert = this.db.prepare(`INSERT INTO sync_attempts (
      started_at, finished_at, trigger, customer_id, customer_number, requested_ref, collection, outcome,
      error_code, error_message, error_fix, retryable, api, model, request_json, response_json, answer_json, writes_json,
      response_id, request_id, input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd,
      load_ms, openai_ms, write_ms, total_ms, job_id, flags) VALUES (
      @startedAt, @finishedAt, @trigger, @customerId, @customerNumber, @requestedRef, @collection, @outcome,
      @errorCode, @errorMessage, @errorFix, @retryable, @api, @model, @request, @response, @answer, @writes,
      @responseId, @requestId, @inputTokens, @cachedTokens, @outputTokens, @reasoningTokens, @costUsd,
      @loadMs, @openaiMs, @writeMs, @totalMs, @jobId, @flags)`);
    const upsert = this.db.prepare(`INSERT INTO records (record_key, customer_id, customer_number, status, last_attempt_id, last_error, attempts, updated_at)
      VALUES (@key, @customerId, @customerNumber, @status, @id, @lastError, 1, @at)
      ON CONFLICT(record_key) DO UPDATE SET customer_id = coalesce(excluded.customer_id, customer_id), customer_number = excluded.customer_number,
        status = excluded.status, last_attempt_id = excluded.last_attempt_id, last_error = excluded.last_error,
        attempts = attempts + 1, updated_at = excluded.updated_at`);
    const putTemplate = this.db.prepare('INSERT OR IGNORE INTO request_templates (key, json) VALUES (?, ?)');
    return { insert, upsert, putTemplate, getTemplate: this.db.prepare('SELECT json FROM request_templates WHERE key = ?') };
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  recordAttempt(a: AttemptRecord): StoredAttempt {
    const { insert, upsert, putTemplate } = this.stmts;
    const compacted = this.compactor.compact(a.request, a.response);
    const id = this.db.transaction(() => {
      const r = this.redact;
      const text = (v: string | null) => (v === null ? null : r(v));
      const doc = (v: unknown) => {
        const j = json(v);
        return j === null ? null : r(j);
      };
      const info = insert.run({
        ...a,
        errorMessage: text(a.errorMessage),
        errorFix: text(a.errorFix),
        retryable: a.retryable ? 1 : 0,
        request: doc(compacted.request),
        response: doc(compacted.response),
        answer: doc(a.answer),
        writes: doc(a.writes),
        jobId: a.jobId ?? null,
        flags: a.flags?.length ? JSON.stringify(a.flags) : null,
      });
      const attemptId = Number(info.lastInsertRowid);
      for (const t of compacted.templates) if (!this.templateCache.has(t.key)) putTemplate.run(t.key, r(t.json));
      upsert.run({
        key: recordKey(a),
        customerId: a.customerId,
        customerNumber: a.customerNumber,
        status: a.outcome,
        id: attemptId,
        lastError: text(a.errorMessage),
        at: a.finishedAt,
      });
      return attemptId;
    })();
    // Only once committed: a rolled-back attempt must not leave a template believed stored.
    for (const t of compacted.templates) if (!this.templateCache.has(t.key)) this.templateCache.set(t.key, this.redact(t.json));
    return { ...a, id };
  }

  listAttempts(q: AttemptQuery = {}): StoredAttempt[] {
    const where: string[] = [];
    const params: Row = { limit: q.limit ?? 50, offset: q.offset ?? 0 };
    if (q.customerNumber) {
      where.push('(customer_number = @cn OR requested_ref = @cn)');
      params.cn = q.customerNumber;
    }
    if (q.outcome) {
      where.push('outcome = @outcome');
      params.outcome = q.outcome;
    }
    const sql = `SELECT * FROM sync_attempts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit OFFSET @offset`;
    return (this.db.prepare(sql).all(params) as Row[]).map((r) => toAttempt(r, this.expand));
  }

  getAttempt(id: number): StoredAttempt | undefined {
    const r = this.db.prepare('SELECT * FROM sync_attempts WHERE id = ?').get(id) as Row | undefined;
    return r ? toAttempt(r, this.expand) : undefined;
  }

  private readonly expand = (doc: unknown) =>
    expandTemplates(doc, (key) => {
      let json = this.templateCache.get(key);
      if (json === undefined) {
        json = (this.stmts.getTemplate.get(key) as { json: string } | undefined)?.json;
        if (json !== undefined) this.templateCache.set(key, json);
      }
      return json;
    });

  recordStates(status?: Outcome): RecordState[] {
    const rows = (status
      ? this.db.prepare('SELECT * FROM records WHERE status = ? ORDER BY updated_at DESC').all(status)
      : this.db.prepare('SELECT * FROM records ORDER BY updated_at DESC').all()) as Row[];
    return rows.map((r) => ({
      recordKey: r.record_key as string,
      customerId: r.customer_id as string | null,
      customerNumber: r.customer_number as string | null,
      status: r.status as Outcome,
      lastAttemptId: r.last_attempt_id as number,
      lastError: r.last_error as string | null,
      attempts: r.attempts as number,
      updatedAt: r.updated_at as string,
    }));
  }

  /** Average output tokens of recent successful calls with this model (for estimates); undefined with too few. */
  averageOutputTokens(model: string, minSamples = 20): number | undefined {
    const r = this.db
      .prepare(`SELECT count(*) AS n, avg(output_tokens) AS avg FROM (SELECT output_tokens FROM sync_attempts WHERE outcome = 'synced' AND model = ? AND output_tokens > 0 ORDER BY id DESC LIMIT 500)`)
      .get(model) as { n: number; avg: number | null };
    return r.n >= minSamples && r.avg !== null ? Math.round(r.avg) : undefined;
  }

  /** Tokens and cost logged since an ISO time (spend caps start from this). */
  spendSince(iso: string): { tokens: number; usd: number } {
    const r = this.db
      .prepare(`SELECT coalesce(sum(input_tokens + output_tokens), 0) AS tokens, coalesce(sum(cost_usd), 0) AS usd FROM sync_attempts WHERE started_at >= ?`)
      .get(iso) as { tokens: number; usd: number };
    return r;
  }

  totals() {
    return this.db
      .prepare(
        `SELECT outcome, count(*) AS count, sum(input_tokens) AS inputTokens, sum(cached_tokens) AS cachedTokens,
                sum(output_tokens) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd
         FROM sync_attempts GROUP BY outcome`,
      )
      .all() as ReturnType<SyncStore['totals']>;
  }

  async close(): Promise<void> {
    await this.checkpoints?.stop();
    this.db.close();
  }
}
