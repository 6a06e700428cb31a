/**
 * A job's life, as data: the allowed moves are listed once and checked in one
 * function. The answer is stored (answered) before the write-back, so a crash
 * after OpenAI answered never pays for the same call twice.
 */
export const JOB_STATES = ['pending', 'calling', 'batched', 'answered', 'review', 'written', 'skipped', 'failed', 'held'] as const;
export type JobState = (typeof JOB_STATES)[number];

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  // pending -> pending: a retryable failure before the call (e.g. iPaaS.com unreachable) waits again.
  pending: ['calling', 'batched', 'skipped', 'failed', 'held', 'pending'],
  // A retryable failure while calling goes back to pending; an expired lease does the same.
  // A spend cap or exhausted quota holds the job before the call is made.
  calling: ['answered', 'skipped', 'failed', 'pending', 'held', 'batched'],
  // In an OpenAI batch: its line's answer arrives, or the line failed (direct call or next batch).
  batched: ['answered', 'pending', 'failed', 'skipped'],
  // A failed write keeps the stored answer: the retry only writes. With review required, the answer
  // waits for a person before anything is written.
  answered: ['written', 'failed', 'answered', 'review'],
  // Approved: back to answered, to be written without a new call. Rejected, or made stale by a newer
  // answer for the same customer: skipped, nothing written.
  review: ['answered', 'skipped'],
  written: [],
  skipped: [],
  // `retry` re-runs a dead-lettered job; one that failed after its answer was stored resumes at the write.
  failed: ['pending', 'answered'],
  held: ['pending'],
};

export const ACTIVE_STATES: readonly JobState[] = ['calling', 'batched', 'answered'];
export const TERMINAL_STATES: readonly JobState[] = ['written', 'skipped', 'failed'];

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(jobId: number, from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new Error(`Job ${jobId}: state ${from} cannot move to ${to}.`);
}
