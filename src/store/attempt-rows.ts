import type { Outcome, RecordState, StoredAttempt } from './ports.js';

type Row = Record<string, unknown>;
const unjson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : null);

/** A sync_attempts row as the sync log port returns it: the same columns in both adapters. */
export function toAttempt(r: Row, expand: (doc: unknown) => unknown = (d) => d): StoredAttempt {
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
    // A boolean in PostgreSQL, 0/1 in SQLite.
    retryable: r.retryable === true || r.retryable === 1,
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
    instance: (r.instance as string | null) ?? null,
    promptVersion: (r.prompt_version as string | null) ?? null,
    tryNumber: (r.try_number as number | null) ?? null,
    maxTries: (r.max_tries as number | null) ?? null,
    nextTryAt: (r.next_try_at as string | null) ?? null,
  };
}

/** A records row (each record's latest outcome): the same columns in both adapters. */
export const toRecordState = (r: Row): RecordState => ({
  recordKey: r.record_key as string,
  customerId: r.customer_id as string | null,
  customerNumber: r.customer_number as string | null,
  status: r.status as Outcome,
  lastAttemptId: r.last_attempt_id as number,
  lastError: r.last_error as string | null,
  attempts: r.attempts as number,
  updatedAt: r.updated_at as string,
});
