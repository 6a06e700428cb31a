import type { IpaasRecord } from '../ipaas/entities.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { buildPatch, type WrittenField } from '../pipeline/write-back.js';
import type { SyncDeps } from '../app/sync-deps.js';
import type { Job } from '../store/ports.js';
import { newAttempt } from './attempt.js';
import type { StoredAnswer } from './run-job.js';
import { fromStoredAnswer, jobRef, settle, usageOnce } from './run-job.js';

/**
 * Review before write-back (sync.review: required, or a TO collection's review): an answer waits in
 * `review` with the writes it proposes, until a person approves it (written without a new OpenAI
 * call) or rejects it (nothing written). A newer answer for the same customer makes it stale.
 */

/** The answer as it waits: what it would write, before -> after, as iPaaS.com held the record then. */
export interface ReviewedAnswer extends StoredAnswer {
  proposal: WrittenField[];
  reviewSince: string;
}

export function reviewRequired(deps: SyncDeps, plan: MappingPlan): boolean {
  return (plan.collections.to.review ?? deps.config.sync.review) === 'required';
}

export function isReviewedAnswer(a: unknown): a is ReviewedAnswer {
  return typeof a === 'object' && a !== null && Array.isArray((a as ReviewedAnswer).proposal);
}

/** answered -> review: nothing is written; the proposal is what a person decides on. */
export async function proposeForReview(deps: SyncDeps, job: Job, stored: StoredAnswer, customer: IpaasRecord, started: number): Promise<void> {
  const answer: ReviewedAnswer = { ...stored, proposal: buildPatch(customer, stored.writes).fields, reviewSince: deps.now().toISOString() };
  await settle(deps, job, { to: 'review', answer }, started);
  // The call is paid now, whatever a person decides: it counts against the spend caps from here (the
  // ledger counts waiting answers too), and the attempt that ends the job does not count it again.
  if (!stored.usageLogged) deps.budget?.record(stored.usage.inputTokens + stored.usage.outputTokens, stored.costUsd, stored.usage.outputTokens);
  deps.logger.info({ jobId: job.id, ref: job.ref, state: 'review', responseId: stored.responseId }, 'answer awaits review');
}

/**
 * review -> skipped, with the attempt row an ended job gets (the call was paid: its tokens and cost are
 * logged): rejected by a person, or stale because a newer answer for the customer arrived.
 */
export async function endReview(deps: SyncDeps, job: Job, reason: string): Promise<void> {
  const stored = job.answer as ReviewedAnswer;
  const a = newAttempt(jobRef(job), job.trigger, deps.now().toISOString(), job.id);
  fromStoredAnswer(a, stored);
  a.writes = stored.proposal.map((w) => ({ ...w, after: w.before, skipped: reason }));
  usageOnce(a, stored);
  a.outcome = 'skipped';
  a.errorMessage = reason;
  await settle(deps, job, { to: 'skipped', attempt: a, reason }, performance.now());
}

/** A newer answer for this customer: every older proposal waiting for it is stale. */
export async function staleOlderReviews(deps: SyncDeps, job: Job, customerId: string): Promise<number> {
  let n = 0;
  for (const older of await deps.store.queue.reviews({ customerId })) {
    if (older.id === job.id) continue;
    try {
      await endReview(deps, older, `stale: a newer answer for this customer arrived (job ${job.id}); nothing was written`);
      n++;
    } catch {
      // Decided meanwhile (approved or rejected by a person): that decision stands.
    }
  }
  return n;
}
