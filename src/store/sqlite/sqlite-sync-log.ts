import { toAttempt, toRecordState } from '../attempt-rows.js';
import { expandTemplates, TemplateCompactor } from './request-templates.js';
import type { SqliteDatabase } from './sqlite-database.js';
import { recordKey, type AttemptQuery, type AttemptRecord, type Outcome, type OutcomeTotals, type RecordState, type StoredAttempt, type SyncLogPort } from '../ports.js';

type Row = Record<string, unknown>;
const json = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));

/**
 * The sync log in SQLite: one row per attempt (secrets redacted, the static parts of requests stored
 * once as templates) and each record's latest outcome. `insert` runs inside the caller's transaction,
 * so a job's settlement and its attempt row commit together.
 */
export class SqliteSyncLog implements SyncLogPort {
  private readonly s;
  private readonly compactor = new TemplateCompactor();
  private readonly templateCache = new Map<string, string>();

  constructor(
    private readonly db: SqliteDatabase,
    /** Secrets never reach the database: every text column and JSON document passes this redactor. */
    private readonly redact: (text: string) => string,
    private readonly instance: string | null = null,
  ) {
    this.s = {
      insert: db.prepare(`INSERT INTO sync_attempts (
        started_at, finished_at, trigger, customer_id, customer_number, requested_ref, collection, outcome,
        error_code, error_message, error_fix, retryable, api, model, request_json, response_json, answer_json, writes_json,
        response_id, request_id, input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd,
        load_ms, openai_ms, write_ms, total_ms, job_id, flags, instance, try_number, max_tries, next_try_at, prompt_version) VALUES (
        @startedAt, @finishedAt, @trigger, @customerId, @customerNumber, @requestedRef, @collection, @outcome,
        @errorCode, @errorMessage, @errorFix, @retryable, @api, @model, @request, @response, @answer, @writes,
        @responseId, @requestId, @inputTokens, @cachedTokens, @outputTokens, @reasoningTokens, @costUsd,
        @loadMs, @openaiMs, @writeMs, @totalMs, @jobId, @flags, @instance, @tryNumber, @maxTries, @nextTryAt, @promptVersion)`),
      upsert: db.prepare(`INSERT INTO records (record_key, customer_id, customer_number, status, last_attempt_id, last_error, attempts, updated_at)
        VALUES (@key, @customerId, @customerNumber, @status, @id, @lastError, 1, @at)
        ON CONFLICT(record_key) DO UPDATE SET customer_id = coalesce(excluded.customer_id, customer_id), customer_number = excluded.customer_number,
          status = excluded.status, last_attempt_id = excluded.last_attempt_id, last_error = excluded.last_error,
          attempts = attempts + 1, updated_at = excluded.updated_at`),
      putTemplate: db.prepare('INSERT OR IGNORE INTO request_templates (key, json) VALUES (?, ?)'),
      getTemplate: db.prepare('SELECT json FROM request_templates WHERE key = ?'),
      get: db.prepare('SELECT * FROM sync_attempts WHERE id = ?'),
      average: db.prepare(`SELECT count(*) AS n, avg(output_tokens) AS avg FROM (SELECT output_tokens FROM sync_attempts WHERE outcome = 'synced' AND model = ? AND output_tokens > 0 ORDER BY id DESC LIMIT 500)`),
      // Trials are paid calls too, and answers waiting for review (paid, not yet logged): the spend caps count them.
      spend: db.prepare(`SELECT coalesce(sum(tokens), 0) AS tokens, coalesce(sum(usd), 0) AS usd FROM (
          SELECT sum(input_tokens + output_tokens) AS tokens, sum(cost_usd) AS usd FROM sync_attempts WHERE started_at >= @since
          UNION ALL SELECT sum(input_tokens + output_tokens), sum(cost_usd) FROM trial_attempts WHERE started_at >= @since
          UNION ALL SELECT sum(coalesce(json_extract(answer_json, '$.usage.inputTokens'), 0) + coalesce(json_extract(answer_json, '$.usage.outputTokens'), 0)),
                           sum(json_extract(answer_json, '$.costUsd'))
            FROM jobs WHERE state = 'review' AND coalesce(json_extract(answer_json, '$.usageLogged'), 0) = 0)`),
    };
  }

  /**
   * Writes the attempt row and the record's latest outcome; call inside a transaction, and once it
   * committed, `committed(templates)` (a rolled-back attempt must not leave a template believed stored).
   */
  insert(a: AttemptRecord): { stored: StoredAttempt; templates: Array<{ key: string; json: string }> } {
    const r = this.redact;
    const compacted = this.compactor.compact(a.request, a.response);
    const text = (v: string | null) => (v === null ? null : r(v));
    const doc = (v: unknown) => {
      const j = json(v);
      return j === null ? null : r(j);
    };
    const info = this.s.insert.run({
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
      instance: this.instance,
      tryNumber: a.tryNumber ?? null,
      maxTries: a.maxTries ?? null,
      nextTryAt: a.nextTryAt ?? null,
      promptVersion: a.promptVersion ?? null,
    });
    const id = Number(info.lastInsertRowid);
    // Inserted every time, known or not: an erasure (`purge --customer`, maybe in another process) may
    // have removed a template this process still has cached.
    const fresh = compacted.templates.filter((t) => !this.templateCache.has(t.key));
    for (const t of compacted.templates) this.s.putTemplate.run(t.key, this.templateCache.get(t.key) ?? r(t.json));
    this.s.upsert.run({ key: recordKey(a), customerId: a.customerId, customerNumber: a.customerNumber, status: a.outcome, id, lastError: text(a.errorMessage), at: a.finishedAt });
    return { stored: { ...a, id, instance: this.instance, tryNumber: a.tryNumber ?? null, maxTries: a.maxTries ?? null, nextTryAt: a.nextTryAt ?? null }, templates: fresh };
  }

  committed(templates: Array<{ key: string; json: string }>): void {
    for (const t of templates) this.templateCache.set(t.key, this.redact(t.json));
  }

  async record(a: AttemptRecord): Promise<StoredAttempt> {
    const { stored, templates } = this.db.transaction(() => this.insert(a))();
    this.committed(templates);
    return stored;
  }

  async list(q: AttemptQuery = {}): Promise<StoredAttempt[]> {
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

  async get(id: number): Promise<StoredAttempt | undefined> {
    const r = this.s.get.get(id) as Row | undefined;
    return r ? toAttempt(r, this.expand) : undefined;
  }

  private readonly expand = (doc: unknown) =>
    expandTemplates(doc, (key) => {
      let json = this.templateCache.get(key);
      if (json === undefined) {
        json = (this.s.getTemplate.get(key) as { json: string } | undefined)?.json;
        if (json !== undefined) this.templateCache.set(key, json);
      }
      return json;
    });

  async records(status?: Outcome): Promise<RecordState[]> {
    const rows = (status
      ? this.db.prepare('SELECT * FROM records WHERE status = ? ORDER BY updated_at DESC, last_attempt_id DESC').all(status)
      : this.db.prepare('SELECT * FROM records ORDER BY updated_at DESC, last_attempt_id DESC').all()) as Row[];
    return rows.map(toRecordState);
  }

  async averageOutputTokens(model: string, minSamples = 20): Promise<number | undefined> {
    const r = this.s.average.get(model) as { n: number; avg: number | null };
    return r.n >= minSamples && r.avg !== null ? Math.round(r.avg) : undefined;
  }

  /** Tokens and cost logged since an ISO time (the spend ledger). */
  async spendSince(iso: string): Promise<{ tokens: number; usd: number }> {
    return this.s.spend.get({ since: iso }) as { tokens: number; usd: number };
  }

  async totals(): Promise<OutcomeTotals[]> {
    return this.db
      .prepare(
        `SELECT outcome, count(*) AS count, sum(input_tokens) AS inputTokens, sum(cached_tokens) AS cachedTokens,
                sum(output_tokens) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd
         FROM sync_attempts GROUP BY outcome`,
      )
      .all() as unknown as OutcomeTotals[];
  }
}
