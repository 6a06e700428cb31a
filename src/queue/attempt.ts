import { triggerLabel, type JobTrigger } from './trigger.js';
import { describeError } from '../shared/errors.js';
import type { AttemptRecord, StoredAttempt } from '../store/ports.js';
import { refText, type CustomerRef } from '../pipeline/load-customer.js';
import type { SyncDeps } from '../app/sync-deps.js';

/** A fresh sync-log row for one attempt; the steps fill it in as they go. */
export function newAttempt(ref: CustomerRef, trigger: JobTrigger, startedAt: string, jobId?: number): AttemptRecord {
  return {
    startedAt, finishedAt: startedAt, trigger: triggerLabel(trigger), customerId: 'id' in ref ? ref.id : null,
    customerNumber: 'customerNumber' in ref ? ref.customerNumber : null, requestedRef: refText(ref),
    collection: null, outcome: 'failed', errorCode: null, errorMessage: null, errorFix: null, retryable: false,
    api: null, model: null, request: null, response: null, answer: null, writes: null, responseId: null, requestId: null,
    inputTokens: 0, cachedTokens: 0, outputTokens: 0, reasoningTokens: 0, costUsd: null,
    loadMs: null, openaiMs: null, writeMs: null, totalMs: 0, jobId: jobId ?? null, flags: null,
  };
}

export function markFailed(deps: SyncDeps, a: AttemptRecord, err: unknown): void {
  const e = describeError(err);
  a.outcome = 'failed';
  a.errorCode = e.code;
  a.errorMessage = deps.redact(e.message);
  a.errorFix = e.fix ?? null;
  a.retryable = e.retryable;
}

/** Closes the attempt's clock; the row itself is written with the job's settlement. */
export function stampAttempt(deps: SyncDeps, a: AttemptRecord, startedPerf: number): AttemptRecord {
  a.finishedAt = deps.now().toISOString();
  a.totalMs = Math.round((performance.now() - startedPerf) * 100) / 100;
  return a;
}

/** What follows a committed attempt: the spend it adds, whoever listens (progress, metrics), one log line. */
export function announceAttempt(deps: SyncDeps, stored: StoredAttempt): void {
  const a = stored;
  if (a.inputTokens || a.outputTokens) deps.budget?.record(a.inputTokens + a.outputTokens, a.costUsd, a.outputTokens);
  deps.onAttempt?.(stored);
  const log = { attemptId: stored.id, jobId: a.jobId, customerNumber: a.customerNumber ?? a.requestedRef, outcome: a.outcome, trigger: a.trigger, tokens: a.inputTokens + a.outputTokens, costUsd: a.costUsd, ms: a.totalMs, flags: a.flags ?? undefined };
  if (a.outcome === 'failed') deps.logger.warn({ ...log, error: a.errorCode, message: a.errorMessage }, 'sync failed');
  else if (deps.logger.isLevelEnabled('info')) deps.logger.info(log, a.outcome === 'synced' ? 'sync done' : 'sync skipped');
}
