import { triggerLabel, type JobTrigger } from './trigger.js';
import { recordKeyOf } from '../ipaas/entities.js';
import { describeError } from '../shared/errors.js';
import { reasonForLog } from '../shared/log-safe.js';
import type { AttemptRecord, StoredAttempt } from '../store/ports.js';
import { refText, type RecordRef } from '../pipeline/load-record.js';
import type { SyncDeps } from '../app/sync-deps.js';

/** A fresh sync-log row for one attempt; the steps fill it in as they go. */
export function newAttempt(ref: RecordRef, trigger: JobTrigger, startedAt: string, jobId?: number): AttemptRecord {
  return {
    startedAt, finishedAt: startedAt, trigger: triggerLabel(trigger), customerId: 'id' in ref ? recordKeyOf(ref.entity ?? trigger.entity ?? 'customer', ref.id) : null,
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

/** Where a job stands after this attempt, for the log line: try n of m, and what happens next. */
export interface AttemptContext {
  attempt: number;
  maxAttempts: number;
  /** Retried at this time (epoch ms); absent when this was the last try. */
  nextAt?: number | undefined;
  /** Held instead (a spend cap or the quota). */
  held?: string | undefined;
  runId?: string | null | undefined;
  /** The job's state after this attempt (written, pending again, failed, held...). */
  state?: string | undefined;
  /** Its tokens and cost already count in the spend caps (charged when the answer went to review). */
  precharged?: boolean | undefined;
}

/** Dollars without float noise (0.000035900000000000005 -> 0.0000359). */
export const roundUsd = (usd: number | null): number | null => (usd === null ? null : Number(usd.toPrecision(6)));

/** What follows a committed attempt: the spend it adds, whoever listens (progress, metrics), one log line. */
export function announceAttempt(deps: SyncDeps, stored: StoredAttempt, ctx?: AttemptContext): void {
  const a = stored;
  if ((a.inputTokens || a.outputTokens) && !ctx?.precharged) deps.budget?.record(a.inputTokens + a.outputTokens, a.costUsd, a.outputTokens);
  deps.onAttempt?.(stored);
  const log = {
    attemptId: stored.id, jobId: a.jobId, ...(ctx?.runId ? { runId: ctx.runId } : {}), customerNumber: a.customerNumber ?? a.requestedRef,
    ...(a.customerId ? { customerId: a.customerId } : {}), outcome: a.outcome, trigger: a.trigger,
    ...(ctx?.state ? { state: ctx.state } : {}), tokens: a.inputTokens + a.outputTokens, costUsd: roundUsd(a.costUsd), ms: a.totalMs, flags: a.flags ?? undefined,
  };
  if (a.outcome === 'failed') {
    const next = ctx?.held
      ? `held: ${ctx.held}`
      : ctx?.nextAt !== undefined
        ? `retried at ${new Date(ctx.nextAt).toISOString()}`
        : !ctx
          ? undefined
          : a.retryable
            ? 'no tries left: dead-lettered (ipaas-openai retry re-runs it)'
            : 'dead-lettered: trying again will not help until the cause is fixed (then ipaas-openai retry)';
    deps.logger.warn(
      { ...log, error: a.errorCode, reason: reasonForLog(a.errorCode, a.errorMessage), ...(ctx ? { try: `${ctx.attempt} of ${ctx.maxAttempts}` } : {}), ...(next ? { next } : {}) },
      // The message stays one fixed string (what log queries match); the try and what next are fields.
      'sync failed',
    );
  } else if (deps.logger.isLevelEnabled('info')) {
    deps.logger.info(a.outcome === 'skipped' ? { ...log, reason: reasonForLog(a.errorCode, a.errorMessage) } : log, a.outcome === 'synced' ? 'sync done' : 'sync skipped');
  }
}
