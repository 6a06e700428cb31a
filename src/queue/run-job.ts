import type { IpaasRecord } from '../ipaas/entities.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { BudgetHeldError, InterruptedError, isFlexUnavailable, isQuotaExhausted, UpstreamError } from '../shared/errors.js';
import type { AttemptRecord, CustomerSyncState, Job, Settlement, StoredAttempt } from '../store/ports.js';
import { announceAttempt, markFailed, newAttempt, stampAttempt } from './attempt.js';
import { runCallPhase, type AnswerPackage } from '../pipeline/prepare-and-call.js';
import { loadRecord, type RecordRef } from '../pipeline/load-record.js';
import { parseRecordKey } from '../ipaas/entities.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { runWritePhase } from '../pipeline/write-phase.js';
import { queueBackoffMs } from '../http/retry-policy.js';
import { skipsUnchanged, triggerLabel } from './trigger.js';
import { TERMINAL_STATES } from './job-states.js';
import type { PlanCache } from './plan-cache.js';
import { isReviewedAnswer, proposeForReview, reviewRequired, staleOlderReviews } from './review.js';

/** The stored answer plus whether its cost is already in the sync log (so it is never counted twice). */
export interface StoredAnswer extends AnswerPackage {
  usageLogged?: boolean;
  /** Answered in this OpenAI batch (its results became answered jobs the runner writes). */
  batchId?: string;
}

export interface ProcessOptions {
  backoff?: { baseMs?: number; maxMs?: number };
  /** The pool's stop signal: aborts the OpenAI call in flight. */
  signal?: AbortSignal | undefined;
}

/** What the pool needs to know about a job's end. `interrupted`: untouched, still leased; the pool hands it back. */
export type ProcessOutcome = 'done' | 'held-budget' | 'quota-exhausted' | 'interrupted';


export const jobRef = (job: Job): RecordRef => ({ entity: job.trigger.entity, ...(job.refKind === 'id' ? { id: job.ref } : { customerNumber: job.ref }) });

/**
 * The one way a job's run ends: its state, the retry decision and its attempt row commit together;
 * only then does anything else hear of it (spend, progress, metrics, the log line).
 */
export async function settle(deps: SyncDeps, job: Job, s: Settlement, started: number): Promise<StoredAttempt | null> {
  const tries = job.attempts + 1;
  const nextAt = s.to === 'retry' ? deps.now().getTime() + s.delayMs : undefined;
  if (s.attempt) {
    stampAttempt(deps, s.attempt, started);
    // The row says which try this was and whether another follows, so a retried failure is not read as final.
    s.attempt.tryNumber = tries;
    s.attempt.maxTries = job.maxAttempts;
    s.attempt.nextTryAt = nextAt === undefined ? null : new Date(nextAt).toISOString();
  }
  // An answer that waited for review was counted against the spend caps when it was proposed.
  const precharged = isReviewedAnswer(job.answer);
  const { attempt } = await deps.store.queue.settle(job, s);
  if (attempt) {
    announceAttempt(deps, attempt, {
      precharged,
      attempt: tries,
      maxAttempts: job.maxAttempts,
      runId: job.runId,
      state: job.state,
      nextAt,
      held: s.to === 'held' ? s.hold.reason : undefined,
    });
  } else if (s.to === 'held') {
    deps.logger.info({ jobId: job.id, ref: job.ref, state: 'held', reason: s.hold.reason, until: new Date(s.until).toISOString() }, 'job held');
  }
  if (job.runId && TERMINAL_STATES.includes(job.state) && job.trigger.source !== 'bulk' && job.trigger.source !== 'batch') await logRunEnd(deps, job.runId);
  return attempt;
}

/** A manual or retry run ends when its last job does: one line with its counts (bulk runs log their own end). */
async function logRunEnd(deps: SyncDeps, runId: string): Promise<void> {
  try {
    if ((await deps.store.queue.openInRun(runId)) > 0) return;
    const counts = await deps.store.queue.counts(runId);
    if (counts.held) return; // it goes on when the budget or the quota lets it
    deps.logger.info({ runId, written: counts.written, skipped: counts.skipped, failed: counts.failed }, 'run finished');
  } catch (err) {
    deps.logger.warn({ err, runId }, 'could not read the run to log its end');
  }
}

/**
 * Runs one claimed job through the phases, moving its state as it goes:
 * pending -> calling -> answered (answer stored) -> written. A job claimed in
 * `answered` (after a crash or a failed write) only writes. Never throws.
 */
export async function runJob(deps: SyncDeps, plans: PlanCache, job: Job, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const { queue } = deps.store;
  const started = performance.now();
  const ref = jobRef(job);
  const a = newAttempt(ref, job.trigger, deps.now().toISOString(), job.id);
  let stored = (job.answer ?? undefined) as StoredAnswer | undefined;
  deps.logger.info(
    { jobId: job.id, ref: job.ref, ...(job.runId ? { runId: job.runId } : {}), state: job.state, try: `${job.attempts + 1} of ${job.maxAttempts}`, trigger: triggerLabel(job.trigger) },
    job.state === 'answered' ? 'job claimed: writing its stored answer' : 'job claimed: calling OpenAI',
  );
  try {
    const plan = await plans.get(job.trigger.entity);
    a.collection = plan.collections.from.name;
    let customer: IpaasRecord;
    if (job.state === 'answered' && stored) {
      // Resume: the answer is paid for and stored; only the write remains. Load fresh to see what landed.
      customer = await loadRecord(deps.ipaas, parseRecordKey(stored.customerId));
      fromStoredAnswer(a, stored);
      a.customerId = customer.key;
      a.customerNumber = customer.number;
      a.flags = [
        stored.batchId
          ? `batch ${stored.batchId}: ${Math.round((1 - deps.config.batch.discount) * 100)}% batch discount`
          : job.reviewedBy
            ? `approved by ${job.reviewedBy}: written without a new OpenAI call`
            : 'resumed: the stored answer was written without a new OpenAI call',
      ];
      if (stored.batchId && job.reviewedBy) a.flags.push(`approved by ${job.reviewedBy}`);
    } else {
      // The claim moved the job to `calling`.
      const prior = job.customerId ? await deps.store.state.get(job.customerId) : undefined;
      const call = await runCallPhase(deps, plan, ref, a, {
        signal: options.signal,
        serviceTier: job.trigger.flex ? 'flex' : undefined,
        skipUnchanged: skipsUnchanged(job.trigger) ? prior ?? undefined : undefined,
        onCustomer: (c) => {
          const known = job.customerId === c.key;
          job.customerId = c.key;
          return known ? undefined : queue.setCustomerId(job.id, c.key);
        },
      });
      // The request itself (customer values) stays in the sync log: the log file holds ids, never field values.
      if (job.trigger.debug) deps.logger.debug({ jobId: job.id, api: a.api, model: a.model, promptVersion: a.promptVersion }, 'debug: request sent to OpenAI (the request is in the sync log: ipaas-openai logs --attempt <id>)');
      if (call.kind === 'skipped') {
        await skipJob(deps, job, a, call.reason, started);
        return 'done';
      }
      stored = call.pkg;
      // Durable before the write-back: a crash after this point never pays for the call again.
      await queue.storeAnswer(job, stored);
      deps.logger.info({ jobId: job.id, ref: job.ref, state: 'answered', responseId: stored.responseId }, 'answer stored');
      customer = call.customer;
      await staleOlderReviews(deps, job, customer.key);
    }
    if (reviewRequired(deps, plan) && !job.reviewedBy) {
      await proposeForReview(deps, job, stored, customer, started);
      return 'done';
    }
    await completeWrite(deps, plans, plan, job, stored, customer, a, started);
    return 'done';
  } catch (err) {
    return await endWithError(deps, job, a, err, started, stored, options);
  }
}

/** The attempt of a stored answer: who it is about and what came back, without a new call. */
export function fromStoredAnswer(a: AttemptRecord, stored: StoredAnswer): void {
  a.customerId = stored.customerId;
  a.customerNumber = stored.customerNumber;
  a.answer = stored.answer;
  a.responseId = stored.responseId;
  a.model = stored.model;
  a.promptVersion = stored.promptVersion ?? null;
}

/** The call's tokens and cost go on the attempt that ends its job, once (not when an earlier attempt logged them). */
export function usageOnce(a: AttemptRecord, stored: StoredAnswer): void {
  if (stored.usageLogged) return;
  a.inputTokens = stored.usage.inputTokens;
  a.cachedTokens = stored.usage.cachedTokens;
  a.outputTokens = stored.usage.outputTokens;
  a.reasoningTokens = stored.usage.reasoningTokens;
  a.costUsd = stored.costUsd;
}

export async function skipJob(deps: SyncDeps, job: Job, a: AttemptRecord, reason: string, started: number): Promise<void> {
  a.outcome = 'skipped';
  a.errorMessage = reason;
  await settle(deps, job, { to: 'skipped', attempt: a, reason }, started);
}

/**
 * iPaaS.com refuses a PUT that names a custom field it does not (or no longer) define. The cached plan
 * may be stale (a field deleted while we run): check the definitions again, which recreates the field
 * where auto-create is on and otherwise fails with "Request field not found." (and so does every
 * following job, before its OpenAI call); then write once more with the stored answer.
 */
async function writeWithFreshPlan(deps: SyncDeps, plans: PlanCache, plan: MappingPlan, stored: StoredAnswer, customer: IpaasRecord, prior: CustomerSyncState | undefined) {
  // An approved answer: a field a person changed while it waited is kept (the reviewer saw the old value).
  const seen = isReviewedAnswer(stored) ? stored.proposal : undefined;
  try {
    await plans.ensureCustomFields(customer.entity);
    return await runWritePhase(deps, plan, stored, customer, prior, deps.config.sync.humanEdits, seen);
  } catch (err) {
    const setsCustomFields = stored.writes.some((w) => w.target.kind === 'custom' && w.value !== null);
    if (!(err instanceof UpstreamError && err.service === 'ipaas' && err.status === 400 && setsCustomFields)) throw err;
    plans.invalidate(customer.entity);
    const fresh = await plans.get(customer.entity);
    await plans.ensureCustomFields(customer.entity);
    deps.logger.warn({ customerId: customer.key }, 'iPaaS.com refused the write-back; custom field definitions checked again, writing once more');
    return await runWritePhase(deps, fresh, stored, customer, prior, deps.config.sync.humanEdits, seen);
  }
}

/** map TO is done: write back, then end the job, its attempt row and the new fingerprint in one commit. */
export async function completeWrite(deps: SyncDeps, plans: PlanCache, plan: MappingPlan, job: Job, stored: StoredAnswer, customer: IpaasRecord, a: AttemptRecord, started: number): Promise<void> {
  usageOnce(a, stored);
  const t = performance.now();
  const w = await writeWithFreshPlan(deps, plans, plan, stored, customer, await deps.store.state.get(customer.key));
  a.writeMs = Math.round((performance.now() - t) * 100) / 100;
  a.writes = w.fields;
  if (w.alreadyWritten) (a.flags ??= []).push('already written before the interruption: nothing sent again');
  if (w.flags.length) (a.flags ??= []).push(...w.flags);
  a.outcome = 'synced';
  const answer = { ...stored, usageLogged: true };
  // If this commit is lost to a crash, the resumed job finds the values already written and sends nothing again.
  await settle(deps, job, { to: 'written', attempt: a, answer, syncState: w.state }, started);
}

/** The one place a job's failure is decided: held (budget, quota), retried later with backoff, or dead-lettered. */
export async function endWithError(deps: SyncDeps, job: Job, a: AttemptRecord, err: unknown, started: number, stored: StoredAnswer | undefined, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  // Stopping is not the record's failure: no attempt row, no retry counted; the lease is handed back.
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof BudgetHeldError) {
    // Nothing was sent: the job waits for the next period, visibly, without a log row per record.
    await settle(deps, job, { to: 'held', hold: { kind: 'budget', reason: `budget: ${err.message.replace(/^held: budget\. /, '')}` }, until: err.until.getTime() }, started);
    return 'held-budget';
  }
  markFailed(deps, a, err);
  if (isQuotaExhausted(err)) {
    // Waiting will not help: hold the record (nothing lost) and tell the pool to stop sending.
    await settle(deps, job, { to: 'held', attempt: a, hold: { kind: 'quota', reason: `quota: ${a.errorMessage}` }, until: Number.MAX_SAFE_INTEGER }, started);
    return 'quota-exhausted';
  }
  const answer = stored && a.costUsd !== null ? { ...stored, usageLogged: true } : undefined;
  const error = { code: a.errorCode, message: a.errorMessage, fix: a.errorFix };
  if (job.runId && job.trigger.flex && isFlexUnavailable(err) && deps.config.openai.flexFallback === 'batch') {
    // Flex had no capacity (nothing charged): the record goes into the run's next OpenAI batch instead.
    await settle(deps, job, { to: 'retry', attempt: a, error, delayMs: 0, trigger: { source: 'batch', force: job.trigger.force } }, started);
    return 'done';
  }
  if (a.retryable && job.attempts + 1 < job.maxAttempts) {
    const hinted = err instanceof UpstreamError ? err.retryAfterMs : undefined;
    const delayMs = Math.max(hinted ?? 0, queueBackoffMs(job.attempts + 1, options.backoff));
    await settle(deps, job, { to: 'retry', attempt: a, error, delayMs, answer }, started);
  } else {
    await settle(deps, job, { to: 'failed', attempt: a, error, answer }, started);
  }
  return 'done';
}
