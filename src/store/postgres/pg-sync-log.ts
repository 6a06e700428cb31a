import { toAttempt, toRecordState } from '../attempt-rows.js';
import { expandTemplates, TemplateCompactor } from '../sqlite/request-templates.js';
import { recordKey, type AttemptQuery, type AttemptRecord, type Outcome, type OutcomeTotals, type RecordState, type StoredAttempt, type SyncLogPort } from '../ports.js';
import type { PgDatabase, Queryable, Row } from './pg-database.js';
import type { Redaction } from '../redaction.js';

export type Templates = Array<{ key: string; json: string }>;

const unjson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : null);


const COLUMNS = `started_at, finished_at, trigger, customer_id, customer_number, requested_ref, collection, outcome,
  error_code, error_message, error_fix, retryable, api, model, request_json, response_json, answer_json, writes_json,
  response_id, request_id, input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_usd,
  load_ms, openai_ms, write_ms, total_ms, job_id, flags, instance, try_number, max_tries, next_try_at, prompt_version`;
// $32 is the record key (for records), $33 the instance, $34-$36 the try and the next one, $37 the prompt version,
// $38 and $39 the keys and texts of the request templates the attempt refers to.
const PLACEHOLDERS = [...Array.from({ length: 31 }, (_, i) => `$${i + 1}`), '$33', '$34', '$35', '$36', '$37'].join(', ');

/**
 * The attempt row and the record's latest outcome in one statement. Of two attempts of one record
 * committed by different instances, the record keeps the newer one (by id) whatever the commit order;
 * its attempt count counts both.
 */
const INSERT = `WITH t AS (INSERT INTO request_templates (key, json) SELECT * FROM unnest($38::text[], $39::text[]) ON CONFLICT (key) DO NOTHING),
  a AS (INSERT INTO sync_attempts (${COLUMNS}) VALUES (${PLACEHOLDERS}) RETURNING id),
  r AS (
    INSERT INTO records (record_key, customer_id, customer_number, status, last_attempt_id, last_error, attempts, updated_at)
    SELECT $32::text, $4::text, $5::text, $8::text, a.id, $10::text, 1, $2::text FROM a
    ON CONFLICT (record_key) DO UPDATE SET
      customer_id = coalesce(excluded.customer_id, records.customer_id),
      customer_number = CASE WHEN excluded.last_attempt_id > records.last_attempt_id THEN excluded.customer_number ELSE records.customer_number END,
      status = CASE WHEN excluded.last_attempt_id > records.last_attempt_id THEN excluded.status ELSE records.status END,
      last_error = CASE WHEN excluded.last_attempt_id > records.last_attempt_id THEN excluded.last_error ELSE records.last_error END,
      updated_at = CASE WHEN excluded.last_attempt_id > records.last_attempt_id THEN excluded.updated_at ELSE records.updated_at END,
      last_attempt_id = greatest(excluded.last_attempt_id, records.last_attempt_id),
      attempts = records.attempts + 1
    RETURNING 1)
  SELECT id FROM a`;

/**
 * The sync log in PostgreSQL: one row per attempt (every text and JSON document redacted, the static
 * parts of requests stored once as templates, as in SQLite) and each record's latest outcome.
 */
export class PgSyncLog implements SyncLogPort {
  private readonly compactor = new TemplateCompactor();
  /** Templates known to be committed (key -> redacted JSON). */
  private readonly templateCache = new Map<string, string>();

  constructor(
    private readonly db: PgDatabase,
    private readonly r: Redaction,
    private readonly instance: string | null = null,
  ) {}

  /**
   * Writes the attempt row and the record's latest outcome on `c` (inside the caller's transaction);
   * once that committed, `committed(templates)`: a rolled-back attempt must not leave a template believed stored.
   */
  async insert(c: Queryable, a: AttemptRecord): Promise<{ stored: StoredAttempt; templates: Templates }> {
    const { text, doc } = this.r;
    const compacted = this.compactor.compact(a.request, a.response);
    const used = compacted.templates.filter((t, i, all) => all.findIndex((o) => o.key === t.key) === i);
    const fresh = used.filter((t) => !this.templateCache.has(t.key));
    const values = [
      a.startedAt, a.finishedAt, a.trigger, a.customerId, a.customerNumber, a.requestedRef, a.collection, a.outcome,
      a.errorCode, text(a.errorMessage), text(a.errorFix), a.retryable, a.api, a.model,
      doc(compacted.request), doc(compacted.response), doc(a.answer), doc(a.writes),
      a.responseId, a.requestId, a.inputTokens, a.cachedTokens, a.outputTokens, a.reasoningTokens, a.costUsd,
      a.loadMs, a.openaiMs, a.writeMs, a.totalMs, a.jobId ?? null, a.flags?.length ? doc(a.flags) : null,
      recordKey(a),
      this.instance,
      a.tryNumber ?? null, a.maxTries ?? null, a.nextTryAt ?? null,
      a.promptVersion ?? null,
      // Inserted every time, in the same statement: an erasure (`purge --customer`, maybe by another
      // instance) may have removed a template this process still has cached.
      used.map((t) => t.key),
      used.map((t) => this.templateCache.get(t.key) ?? this.r.text(t.json)),
    ];
    const id = (await c.query(INSERT, values)).rows[0].id as number;
    return { stored: { ...a, id, instance: this.instance, tryNumber: a.tryNumber ?? null, maxTries: a.maxTries ?? null, nextTryAt: a.nextTryAt ?? null }, templates: fresh };
  }

  committed(templates: Templates): void {
    for (const t of templates) this.templateCache.set(t.key, this.r.text(t.json)!);
  }

  async record(a: AttemptRecord): Promise<StoredAttempt> {
    const { stored, templates } = await this.db.tx((c) => this.insert(c, a));
    this.committed(templates);
    return stored;
  }

  async list(q: AttemptQuery = {}): Promise<StoredAttempt[]> {
    const where: string[] = [];
    const values: unknown[] = [q.limit ?? 50, q.offset ?? 0];
    if (q.customerNumber) where.push(`(customer_number = $${values.push(q.customerNumber)} OR requested_ref = $${values.length})`);
    if (q.outcome) where.push(`outcome = $${values.push(q.outcome)}`);
    const rows = (await this.db.query(`SELECT * FROM sync_attempts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1 OFFSET $2`, values)).rows;
    return this.expandAll(rows);
  }

  async get(id: number): Promise<StoredAttempt | undefined> {
    const rows = (await this.db.query('SELECT * FROM sync_attempts WHERE id = $1', [id])).rows;
    return (await this.expandAll(rows))[0];
  }

  /** Rows to attempts with their templates put back (the ones not cached are read in one query first). */
  private async expandAll(rows: Row[]): Promise<StoredAttempt[]> {
    const missing = new Set<string>();
    const probe = (key: string) => {
      const json = this.templateCache.get(key);
      if (json === undefined) missing.add(key);
      return json;
    };
    for (const r of rows) for (const col of ['request_json', 'response_json']) expandTemplates(unjson(r[col]), probe);
    if (missing.size) {
      const found = (await this.db.query('SELECT key, json FROM request_templates WHERE key = ANY($1::text[])', [[...missing]])).rows;
      for (const t of found) this.templateCache.set(t.key as string, t.json as string);
    }
    const expand = (doc: unknown) => expandTemplates(doc, (key) => this.templateCache.get(key));
    return rows.map((r) => toAttempt(r, expand));
  }

  async records(status?: Outcome): Promise<RecordState[]> {
    const rows = (status
      ? await this.db.query('SELECT * FROM records WHERE status = $1 ORDER BY updated_at DESC, last_attempt_id DESC', [status])
      : await this.db.query('SELECT * FROM records ORDER BY updated_at DESC, last_attempt_id DESC')
    ).rows;
    return rows.map(toRecordState);
  }

  async averageOutputTokens(model: string, minSamples = 20): Promise<number | undefined> {
    const r = (
      await this.db.query(
        `SELECT count(*) AS n, avg(output_tokens)::float8 AS avg FROM (SELECT output_tokens FROM sync_attempts WHERE outcome = 'synced' AND model = $1 AND output_tokens > 0 ORDER BY id DESC LIMIT 500) s`,
        [model],
      )
    ).rows[0] as { n: number; avg: number | null };
    return r.n >= minSamples && r.avg !== null ? Math.round(r.avg) : undefined;
  }

  /** Tokens and cost logged since an ISO time (the spend ledger). */
  async spendSince(iso: string): Promise<{ tokens: number; usd: number }> {
    const r = (
      // Trials are paid calls too, and answers waiting for review (paid, not yet logged): the spend caps count them.
      await this.db.query(
        `SELECT coalesce(sum(tokens), 0) AS tokens, coalesce(sum(usd), 0)::float8 AS usd FROM (
           SELECT sum(input_tokens + output_tokens) AS tokens, sum(cost_usd) AS usd FROM sync_attempts WHERE started_at >= $1
           UNION ALL SELECT sum(input_tokens + output_tokens), sum(cost_usd) FROM trial_attempts WHERE started_at >= $1
           UNION ALL SELECT sum(coalesce((answer_json::jsonb #>> '{usage,inputTokens}')::bigint, 0) + coalesce((answer_json::jsonb #>> '{usage,outputTokens}')::bigint, 0)),
                            sum((answer_json::jsonb ->> 'costUsd')::float8)
             FROM jobs WHERE state = 'review' AND coalesce((answer_json::jsonb ->> 'usageLogged')::boolean, false) = false) s`,
        [iso],
      )
    ).rows[0];
    return { tokens: r.tokens as number, usd: r.usd as number };
  }

  async totals(): Promise<OutcomeTotals[]> {
    const rows = (
      await this.db.query(
        `SELECT outcome, count(*) AS count, coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(cached_tokens), 0) AS "cachedTokens",
                coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cost_usd), 0)::float8 AS "costUsd"
         FROM sync_attempts GROUP BY outcome ORDER BY outcome`,
      )
    ).rows;
    return rows as OutcomeTotals[];
  }
}
