import type { JobState } from '../queue/job-states.js';
import { parseTrigger } from '../queue/trigger.js';
import type { HoldKind, Job, RefKind } from './ports.js';

type Row = Record<string, unknown>;

/** A jobs row as the queue port returns it: the same columns in both adapters. */
export function toJob(r: Row): Job {
  return {
    id: r.id as number,
    customerId: r.customer_id as string | null,
    ref: r.ref as string,
    refKind: r.ref_kind as RefKind,
    trigger: parseTrigger(r.trigger as string),
    priority: r.priority as number,
    state: r.state as JobState,
    attempts: r.attempts as number,
    maxAttempts: r.max_attempts as number,
    runAfter: r.run_after as number,
    leaseOwner: r.lease_owner as string | null,
    leaseUntil: r.lease_until as number | null,
    answer: typeof r.answer_json === 'string' ? JSON.parse(r.answer_json) : null,
    lastErrorCode: r.last_error_code as string | null,
    lastError: r.last_error as string | null,
    lastErrorFix: r.last_error_fix as string | null,
    lastAttemptId: r.last_attempt_id as number | null,
    coalesced: r.coalesced as number,
    runId: r.run_id as string | null,
    batchId: (r.batch_id as string | null) ?? null,
    holdKind: (r.hold_kind as HoldKind | null) ?? null,
    holdReason: (r.hold_reason as string | null) ?? null,
    reviewedBy: (r.reviewed_by as string | null) ?? null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}
