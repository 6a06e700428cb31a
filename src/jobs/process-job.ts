import { UpstreamError } from '../shared/errors.js';
import type { Job } from '../store/sqlite-job-store.js';
import { markFailed, newAttempt, saveAttempt } from '../sync/attempt.js';
import { runCallPhase, type AnswerPackage } from '../sync/call-phase.js';
import { loadCustomer, type CustomerRef } from '../sync/load-customer.js';
import type { SyncDeps } from '../sync/sync-deps.js';
import { runWritePhase } from '../sync/write-phase.js';
import { queueBackoffMs } from './backoff.js';
import type { PlanCache } from './plan-cache.js';

/** The stored answer plus whether its cost is already in the sync log (so it is never counted twice). */
interface StoredAnswer extends AnswerPackage {
  usageLogged?: boolean;
}

export interface ProcessOptions {
  backoff?: { baseMs?: number; maxMs?: number };
}

const isWebhook = (trigger: string) => trigger.startsWith('webhook:');

/**
 * Runs one claimed job through the phases, moving its state as it goes:
 * pending -> calling -> answered (answer stored) -> written. A job claimed in
 * `answered` (after a crash or a failed write) only writes. Never throws.
 */
export async function processJob(deps: SyncDeps, plans: PlanCache, job: Job, options: ProcessOptions = {}): Promise<void> {
  const jobs = deps.store.jobs;
  const started = performance.now();
  const ref: CustomerRef = job.refKind === 'id' ? { id: job.ref } : { customerNumber: job.ref };
  const a = newAttempt(ref, job.trigger, deps.now().toISOString(), job.id);
  let stored = (job.answer ?? undefined) as StoredAnswer | undefined;
  const debug = job.trigger.endsWith('-debug');
  try {
    const plan = await plans.get();
    a.collection = plan.collections.from.name;
    let customer;
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
        // Webhooks only: a person who asks for a sync gets one.
        skipUnchanged: isWebhook(job.trigger) ? prior ?? undefined : undefined,
        onCustomer: (c) => {
          if (job.customerId !== c.id) jobs.setCustomerId(job.id, c.id);
          job.customerId = c.id;
        },
      });
      if (debug) deps.logger.debug({ jobId: job.id, request: a.request }, 'debug: request sent to OpenAI');
      if (call.kind === 'skipped') {
        a.outcome = 'skipped';
        a.errorMessage = call.reason;
        jobs.transaction(() => jobs.finish(job, 'skipped', { attemptId: saveAttempt(deps, a, started).id, error: call.reason }));
        return;
      }
      stored = call.pkg;
      jobs.storeAnswer(job, stored);
      customer = call.customer;
    }
    if (!stored.usageLogged) {
      a.inputTokens = stored.usage.inputTokens;
      a.cachedTokens = stored.usage.cachedTokens;
      a.outputTokens = stored.usage.outputTokens;
      a.reasoningTokens = stored.usage.reasoningTokens;
      a.costUsd = stored.costUsd;
    }
    const t = performance.now();
    const w = await runWritePhase(deps, plan, stored, customer, jobs.customerState(customer.id), deps.config.sync.humanEdits);
    a.writeMs = Math.round((performance.now() - t) * 100) / 100;
    a.writes = w.fields;
    if (w.alreadyWritten) (a.flags ??= []).push('already written before the interruption: nothing sent again');
    if (w.flags.length) (a.flags ??= []).push(...w.flags);
    a.outcome = 'synced';
    const answer = { ...stored, usageLogged: true };
    // The log row, the job's end and the customer's new fingerprint commit together.
    jobs.transaction(() => jobs.finish(job, 'written', { attemptId: saveAttempt(deps, a, started).id, answer }, () => jobs.putCustomerState(w.state)));
  } catch (err) {
    markFailed(deps, a, err);
    const answer = stored && a.costUsd !== null ? { ...stored, usageLogged: true } : undefined;
    jobs.transaction(() => {
      const outcome = { attemptId: saveAttempt(deps, a, started).id, code: a.errorCode, error: a.errorMessage, fix: a.errorFix, ...(answer ? { answer } : {}) };
      if (a.retryable && job.attempts + 1 < job.maxAttempts) {
        const hinted = err instanceof UpstreamError ? err.retryAfterMs : undefined;
        jobs.retryLater(job, Math.max(hinted ?? 0, queueBackoffMs(job.attempts + 1, options.backoff)), outcome);
      } else {
        jobs.finish(job, 'failed', outcome);
      }
    });
  }
}
