import type { StoredTrialAttempt, TrialAttemptRecord, TrialVariant } from './ports.js';
import type { Redaction } from './redaction.js';

type Row = Record<string, unknown>;

/** The trial_attempts columns, in one order both adapters insert them in. */
export const TRIAL_COLUMNS = [
  'trial_id', 'variant', 'prompt_version', 'started_at', 'finished_at', 'customer_id', 'customer_number', 'requested_ref',
  'outcome', 'error_code', 'error_message', 'api', 'model', 'request_json', 'response_json', 'answer_json', 'writes_json',
  'response_id', 'input_tokens', 'cached_tokens', 'output_tokens', 'reasoning_tokens', 'cost_usd', 'total_ms', 'instance',
] as const;

/** A trial as column values (texts and documents redacted), in TRIAL_COLUMNS order. */
export function trialValues(t: TrialAttemptRecord, r: Redaction, instance: string | null): unknown[] {
  return [
    t.trialId, t.variant, t.promptVersion, t.startedAt, t.finishedAt, t.customerId, t.customerNumber, t.requestedRef,
    t.outcome, t.errorCode, r.text(t.errorMessage), t.api, t.model, r.doc(t.request), r.doc(t.response), r.doc(t.answer), r.doc(t.writes),
    t.responseId, t.inputTokens, t.cachedTokens, t.outputTokens, t.reasoningTokens, t.costUsd, t.totalMs, instance,
  ];
}

const unjson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : null);

export function toTrial(r: Row): StoredTrialAttempt {
  return {
    id: Number(r.id),
    trialId: r.trial_id as string,
    variant: r.variant as TrialVariant,
    promptVersion: r.prompt_version as string,
    startedAt: r.started_at as string,
    finishedAt: r.finished_at as string,
    customerId: (r.customer_id as string | null) ?? null,
    customerNumber: (r.customer_number as string | null) ?? null,
    requestedRef: r.requested_ref as string,
    outcome: r.outcome as StoredTrialAttempt['outcome'],
    errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    api: (r.api as string | null) ?? null,
    model: (r.model as string | null) ?? null,
    request: unjson(r.request_json),
    response: unjson(r.response_json),
    answer: unjson(r.answer_json),
    writes: unjson(r.writes_json),
    responseId: (r.response_id as string | null) ?? null,
    inputTokens: Number(r.input_tokens),
    cachedTokens: Number(r.cached_tokens),
    outputTokens: Number(r.output_tokens),
    reasoningTokens: Number(r.reasoning_tokens),
    costUsd: r.cost_usd === null || r.cost_usd === undefined ? null : Number(r.cost_usd),
    totalMs: Number(r.total_ms),
    instance: (r.instance as string | null) ?? null,
  };
}
