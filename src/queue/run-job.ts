import type { Customer } from '../ipaas/customer-model.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { BudgetHeldError, InterruptedError, isQuotaExhausted, UpstreamError } from '../shared/errors.js';
import type { AttemptRecord } from '../store/sync-store.js';
import type { Job } from '../store/sqlite-job-store.js';
import { markFailed, newAttempt, saveAttempt } from './attempt.js';
import { runCallPhase, type AnswerPackage } from '../pipeline/prepare-and-call.js';
import { loadCustomer, type CustomerRef } from '../pipeline/load-customer.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { runWritePhase } from '../pipeline/write-phase.js';
import { queueBackoffMs } from '../http/retry-policy.js';
import { skipsUnchanged } from './trigger.js';
import type { PlanCache } from './plan-cache.js';

/** The stored answer plus whether its cost is already in the sync log (so it is never counted twice). */
export interface StoredAnswer extends AnswerPackage {
  usageLogged?: boolean;
}

export interface ProcessOptions {
  backoff?: { baseMs?: number; maxMs?: number };
  /** The pool's stop signal: aborts the OpenAI call in flight. */
  signal?: AbortSignal | undefined;
}

/** What the pool needs to know about a job's end. `interrupted`: untouched, still leased; the pool hands it back. */
export type ProcessOutcome = 'done' | 'held-budget' | 'quota-exhausted' | 'interrupted';


export const jobRef = (job: Job): CustomerRef => (job.refKind === 'id' ? { id: job.ref } : { customerNumber: job.ref });

/**
 * Runs one claimed job through the phases, moving its state as it goes:
 * pending -> calling -> answered (answer stored) -> written. A job claimed in
 * `answered` (after a crash or a failed write) only writes. Never throws.
 */
export async function runJob(deps: SyncDeps, plans: PlanCache, job: Job, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const jobs = deps.store.jobs;
  const started = performance.now();
  const ref = jobRef(job);
  const a = newAttempt(ref, job.trigger, deps.now().toISOString(), job.id);
  let stored = (job.answer ?? undefined) as StoredAnswer | undefined;
  try {
    const plan = await plans.get();
    a.collection = plan.collections.from.name;
    let customer: Customer;
    if (job.state === 'answered' && stored) {
      // Resume: the answer is paid for and stored; only the write remains. Load fresh to see what landed.
      customer = await loadCustomer(deps.ipaas, { id: stored.customerId });
      a.customerId = customer.id;
      a.customerNumber = customer.customerNumber;
      a.answer = stored.answer;
      a.responseId = stored.responseId;
      a.model = stored.model;
      a.flags = ['resumed: the stored answer was written without a new OpenAI call'];
    } else {
      // The claim moved the job to `calling`.
      const prior = job.customerId ? jobs.customerState(job.customerId) : undefined;
      const call = await runCallPhase(deps, plan, ref, a, {
        signal: options.signal,
        skipUnchanged: skipsUnchanged(job.trigger) ? prior ?? undefined : undefined,
        onCustomer: (c) => {
          if (job.customerId !== c.id) jobs.setCustomerId(job.id, c.id);
          job.customerId = c.id;
        },
      });
      if (job.trigger.debug) deps.logger.debug({ jobId: job.id, request: a.request }, 'debug: request sent to OpenAI');
      if (call.kind === 'skipped') {
        await skipJob(deps, job, a, call.reason, started);
        return 'done';
      }
      stored = call.pkg;
      // Durable before the write-back: a crash after this point never pays for the call again.
      const answer = stored;
      await jobs.commit(() => jobs.storeAnswer(job, answer));
      customer = call.customer;
    }
    await completeWrite(deps, plans, plan, job, stored, customer, a, started);
    return 'done';
  } catch (err) {
    return await endWithError(deps, job, a, err, started, stored, options);
  }
}

export async function skipJob(deps: SyncDeps, job: Job, a: AttemptRecord, reason: string, started: number): Promise<void> {
  a.outcome = 'skipped';
  a.errorMessage = reason;
  await deps.store.jobs.commit(() => deps.store.jobs.finish(job, 'skipped', { attemptId: saveAttempt(deps, a, started).id, error: reason }));
}

/** map TO is done: write back, then log, end the job and store the new fingerprint in one commit. */
/**
 * iPaaS.com refuses a PUT that names a custom field it does not (or no longer) define. The cached plan
 * may be stale (a field deleted while we run): check the definitions again, which recreates the field
 * where auto-create is on and otherwise fails with "Request field not found." (and so does every
 * following job, before its OpenAI call); then write once more with the stored answer.
 */
async function writeWithFreshPlan(deps: SyncDeps, plans: PlanCache, plan: MappingPlan, stored: StoredAnswer, customer: Customer, prior: ReturnType<SyncDeps['store']['jobs']['customerState']>) {
  try {
    return await runWritePhase(deps, plan, stored, customer, prior, deps.config.sync.humanEdits);
  } catch (err) {
    const setsCustomFields = stored.writes.some((w) => w.target.kind === 'custom' && w.value !== null);
    if (!(err instanceof UpstreamError && err.service === 'ipaas' && err.status === 400 && setsCustomFields)) throw err;
    plans.invalidate();
    const fresh = await plans.get();
    deps.logger.warn({ customerId: customer.id }, 'iPaaS.com refused the write-back; custom field definitions checked again, writing once more');
    return await runWritePhase(deps, fresh, stored, customer, prior, deps.config.sync.humanEdits);
  }
}

export async function completeWrite(deps: SyncDeps, plans: PlanCache, plan: MappingPlan, job: Job, stored: StoredAnswer, customer: Customer, a: AttemptRecord, started: number): Promise<void> {
  const jobs = deps.store.jobs;
  if (!stored.usageLogged) {
    a.inputTokens = stored.usage.inputTokens;
    a.cachedTokens = stored.usage.cachedTokens;
    a.outputTokens = stored.usage.outputTokens;
    a.reasoningTokens = stored.usage.reasoningTokens;
    a.costUsd = stored.costUsd;
  }
  const t = performance.now();
  const w = await writeWithFreshPlan(deps, plans, plan, stored, customer, jobs.customerState(customer.id));
  a.writeMs = Math.round((performance.now() - t) * 100) / 100;
  a.writes = w.fields;
  if (w.alreadyWritten) (a.flags ??= []).push('already written before the interruption: nothing sent again');
  if (w.flags.length) (a.flags ??= []).push(...w.flags);
  a.outcome = 'synced';
  const answer = { ...stored, usageLogged: true };
  // If this commit is lost to a crash, the resumed job finds the values already written and sends nothing again.
  await jobs.commit(() => jobs.finish(job, 'written', { attemptId: saveAttempt(deps, a, started).id, answer }, () => jobs.putCustomerState(w.state)));
}

/** The one place a job's failure is decided: held (budget, quota), retried later with backoff, or dead-lettered. */
export async function endWithError(deps: SyncDeps, job: Job, a: AttemptRecord, err: unknown, started: number, stored: StoredAnswer | undefined, options: ProcessOptions = {}): Promise<ProcessOutcome> {
  const jobs = deps.store.jobs;
  // Stopping is not the record's failure: no attempt row, no retry counted; the lease is handed back.
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof BudgetHeldError) {
    // Nothing was sent: the job waits for the next period, visibly, without a log row per record.
    await jobs.commit(() => jobs.hold(job, { kind: 'budget', reason: `budget: ${err.message.replace(/^held: budget\. /, '')}` }, err.until.getTime()));
    return 'held-budget';
  }
  markFailed(deps, a, err);
  const answer = stored && a.costUsd !== null ? { ...stored, usageLogged: true } : undefined;
  if (isQuotaExhausted(err)) {
    // Waiting will not help: hold the record (nothing lost) and tell the pool to stop sending.
    await jobs.commit(() => {
      const attempt = saveAttempt(deps, a, started);
      jobs.hold(job, { kind: 'quota', reason: `quota: ${a.errorMessage}` }, Number.MAX_SAFE_INTEGER, Date.now(), attempt.id);
    });
    return 'quota-exhausted';
  }
  await jobs.commit(() => {
    const outcome = { attemptId: saveAttempt(deps, a, started).id, code: a.errorCode, error: a.errorMessage, fix: a.errorFix, ...(answer ? { answer } : {}) };
    if (a.retryable && job.attempts + 1 < job.maxAttempts) {
      const hinted = err instanceof UpstreamError ? err.retryAfterMs : undefined;
      jobs.retryLater(job, Math.max(hinted ?? 0, queueBackoffMs(job.attempts + 1, options.backoff)), outcome);
    } else {
      jobs.finish(job, 'failed', outcome);
    }
  });
  return 'done';
}
