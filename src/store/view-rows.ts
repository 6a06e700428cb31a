/**
 * Rows of the read models into their types, the same for both adapters (their column names are the
 * same; each driver already returns numbers for integers).
 */
import { JOB_STATES, type JobState } from '../queue/job-states.js';
import { ATTEMPT_OUTCOMES, type ActivityItem, type AttemptOutcome, type JobItem, type PromptVersionOutcomes, type RunItem } from './views-port.js';
import type { BulkMode } from './ports.js';

type Row = Record<string, unknown>;

/** The outcome as people count it: a failed try the queue makes again is 'retrying' (SQL, both engines). */
export const OUTCOME_SQL = `CASE WHEN outcome = 'failed' AND next_try_at IS NOT NULL THEN 'retrying' ELSE outcome END`;

/** The WHERE condition of each outcome filter (SQL, both engines). */
export const OUTCOME_WHERE: Record<AttemptOutcome, string> = {
  synced: `outcome = 'synced'`,
  skipped: `outcome = 'skipped'`,
  failed: `outcome = 'failed' AND next_try_at IS NULL`,
  retrying: `outcome = 'failed' AND next_try_at IS NOT NULL`,
};

/** The sync log's small columns, with the outcome as `kind`. */
export const ACTIVITY_COLUMNS = `id, started_at, finished_at, customer_number, customer_id, requested_ref, trigger, ${OUTCOME_SQL} AS kind, error_code, error_message,
  error_fix, total_ms, input_tokens, cached_tokens, output_tokens, cost_usd, job_id, flags, instance, try_number, max_tries, next_try_at, prompt_version`;

export const toActivityItem = (r: Row): ActivityItem => ({
  id: r.id as number,
  startedAt: r.started_at as string,
  finishedAt: r.finished_at as string,
  customerNumber: r.customer_number as string | null,
  customerId: r.customer_id as string | null,
  requestedRef: r.requested_ref as string,
  trigger: r.trigger as string,
  outcome: r.kind as AttemptOutcome,
  errorCode: r.error_code as string | null,
  reason: r.error_message as string | null,
  fix: r.error_fix as string | null,
  totalMs: r.total_ms as number,
  inputTokens: r.input_tokens as number,
  cachedTokens: r.cached_tokens as number,
  outputTokens: r.output_tokens as number,
  costUsd: r.cost_usd as number | null,
  jobId: (r.job_id as number | null) ?? null,
  flags: typeof r.flags === 'string' ? (JSON.parse(r.flags) as string[]) : null,
  instance: (r.instance as string | null) ?? null,
  tryNumber: (r.try_number as number | null) ?? null,
  maxTries: (r.max_tries as number | null) ?? null,
  nextTryAt: (r.next_try_at as string | null) ?? null,
  promptVersion: (r.prompt_version as string | null) ?? null,
});

/** The jobs table's columns without the stored answer. */
export const JOB_COLUMNS = `id, state, ref, ref_kind, customer_id, trigger, priority, attempts, max_attempts, run_after, run_id, lease_owner,
  last_error_code, last_error, last_error_fix, last_attempt_id, hold_reason, created_at, updated_at`;

export const toJobItem = (r: Row): JobItem => ({
  id: r.id as number,
  state: r.state as JobState,
  ref: r.ref as string,
  refKind: r.ref_kind as 'number' | 'id',
  customerId: (r.customer_id as string | null) ?? null,
  trigger: r.trigger as string,
  priority: r.priority as number,
  attempts: r.attempts as number,
  maxAttempts: r.max_attempts as number,
  runAfter: r.run_after as number,
  runId: (r.run_id as string | null) ?? null,
  leaseOwner: (r.lease_owner as string | null) ?? null,
  lastErrorCode: (r.last_error_code as string | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  lastErrorFix: (r.last_error_fix as string | null) ?? null,
  lastAttemptId: (r.last_attempt_id as number | null) ?? null,
  holdReason: (r.hold_reason as string | null) ?? null,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
});

/** Per run: its jobs by state as columns `n_<state>` (the aggregate each engine writes its own way). */
export const stateColumn = (state: JobState) => `n_${state}`;

export const toRunItem = (r: Row): RunItem => ({
  runId: r.run_id as string,
  trigger: r.trigger as string,
  createdAt: r.created_at as number,
  updatedAt: r.updated_at as number,
  total: r.total as number,
  jobs: Object.fromEntries(JOB_STATES.map((s) => [s, Number(r[stateColumn(s)] ?? 0)])) as Record<JobState, number>,
  bulk: r.mode
    ? {
        mode: r.mode as BulkMode,
        status: r.bulk_status as 'running' | 'done',
        enumerated: r.enumerated as number,
        expected: (r.expected as number | null) ?? null,
        enumerationDone: r.next_page === -1,
      }
    : null,
});

/**
 * Attempts by prompt version and outcome (SQL, both engines): one row per version and outcome with its
 * count, cost, newest finish and the version's text. `range` is the WHERE condition on sync_attempts.
 */
export const promptVersionSql = (range: string) => `SELECT g.version, g.outcome, g.n, g.cost, g.last_at, p.text
  FROM (SELECT prompt_version AS version, ${OUTCOME_SQL} AS outcome, count(*) AS n, coalesce(sum(cost_usd), 0) AS cost, max(finished_at) AS last_at
        FROM sync_attempts WHERE ${range} GROUP BY 1, 2) g
  LEFT JOIN prompt_versions p ON p.id = g.version`;

/** Those rows folded per version: most recently used first, attempts without a version last. */
export function toPromptVersionOutcomes(rows: Row[]): PromptVersionOutcomes[] {
  const byVersion = new Map<string | null, PromptVersionOutcomes>();
  for (const r of rows) {
    const version = (r.version as string | null) ?? null;
    let v = byVersion.get(version);
    if (!v) {
      v = { promptVersion: version, text: (r.text as string | null) ?? null, attempts: Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, 0])) as Record<AttemptOutcome, number>, total: 0, costUsd: 0, lastAt: r.last_at as string };
      byVersion.set(version, v);
    }
    const n = Number(r.n);
    if ((r.outcome as AttemptOutcome) in v.attempts) v.attempts[r.outcome as AttemptOutcome] += n;
    v.total += n;
    v.costUsd += Number(r.cost);
    if ((r.last_at as string) > v.lastAt) v.lastAt = r.last_at as string;
  }
  return [...byVersion.values()].sort((a, b) => Number(a.promptVersion === null) - Number(b.promptVersion === null) || b.lastAt.localeCompare(a.lastAt) || String(a.promptVersion).localeCompare(String(b.promptVersion)));
}
