/**
 * Read models for the dashboard, the CSV export and /metrics: small columns only, never request or
 * response bodies. Two kinds of number are kept apart everywhere: an attempt (one try at one record,
 * a row of the sync log) and a record (a customer, counted once by its latest attempt). Jobs are the
 * queue's rows: one per record per run.
 */
import type { JobState } from '../queue/job-states.js';
import type { BulkMode, Outcome } from './ports.js';

/** An attempt as people count it: a failed try the queue makes again is `retrying`, not `failed`. */
export type AttemptOutcome = Outcome | 'retrying';
export const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['synced', 'skipped', 'failed', 'retrying'];

/** The outcome of a logged attempt: `failed` with a next try is `retrying`. */
export const attemptOutcome = (a: { outcome: Outcome; nextTryAt?: string | null | undefined }): AttemptOutcome =>
  a.outcome === 'failed' && a.nextTryAt ? 'retrying' : a.outcome;

export interface ActivityFilter {
  /** Matches CustomerNumber, the requested reference, the iPaaS id, the trigger or the reason (text search). */
  q?: string | undefined;
  /** One record's attempts, exactly: by CustomerNumber, else iPaaS id, else what was asked for. */
  customerNumber?: string | undefined;
  customerId?: string | undefined;
  requestedRef?: string | undefined;
  outcome?: AttemptOutcome | undefined;
  /** The trigger label exactly (`manual`, `webhook:updated`, `retry`, …). */
  trigger?: string | undefined;
  errorCode?: string | undefined;
  /** ISO timestamps (inclusive since, exclusive until) on finished_at. */
  since?: string | undefined;
  until?: string | undefined;
}

export interface ActivityQuery extends ActivityFilter {
  limit: number;
  offset: number;
}

export interface ActivityItem {
  id: number;
  startedAt: string;
  finishedAt: string;
  customerNumber: string | null;
  customerId: string | null;
  requestedRef: string;
  trigger: string;
  outcome: AttemptOutcome;
  errorCode: string | null;
  reason: string | null;
  fix: string | null;
  totalMs: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number | null;
  jobId: number | null;
  flags: string[] | null;
  instance: string | null;
  tryNumber: number | null;
  maxTries: number | null;
  nextTryAt: string | null;
  /** The PromptText version the request was built from; null when no request was built. */
  promptVersion: string | null;
}

/** How often each value occurs among recent attempts (to offer as filters). */
export interface Facets {
  triggers: Array<{ value: string; attempts: number }>;
  errorCodes: Array<{ value: string; attempts: number }>;
}

export interface AttemptTotals {
  outcome: AttemptOutcome;
  count: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface DayTotals {
  attempts: Record<AttemptOutcome, number>;
  /** Attempts that sent a request to OpenAI (the SDK's own retries of one request count once). */
  openaiCalls: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Spend per time bucket, oldest first. */
export interface UsageSeries {
  openaiCalls: number[];
  inputTokens: number[];
  cachedTokens: number[];
  outputTokens: number[];
  costUsd: number[];
}

/** The attempts of a time range that used one PromptText version, by outcome. */
export interface PromptVersionOutcomes {
  /** The version (a short hash of the PromptText); null for attempts that built no request (a skip before the call, a customer that could not be loaded). */
  promptVersion: string | null;
  /** Its text as kept once in prompt_versions (redacted); null when unknown. */
  text: string | null;
  attempts: Record<AttemptOutcome, number>;
  /** All its attempts in the range. */
  total: number;
  costUsd: number;
  /** When its newest attempt in the range finished (ISO). */
  lastAt: string;
}

export interface JobQuery {
  state?: JobState | undefined;
  trigger?: string | undefined;
  errorCode?: string | undefined;
  runId?: string | undefined;
  /** The CustomerNumber or iPaaS id the job is for. */
  ref?: string | undefined;
  limit: number;
  offset: number;
}

/** A queue job without its stored answer. */
export interface JobItem {
  id: number;
  state: JobState;
  ref: string;
  refKind: 'number' | 'id';
  customerId: string | null;
  trigger: string;
  priority: number;
  /** Tries made so far, and the most it gets. */
  attempts: number;
  maxAttempts: number;
  runAfter: number;
  runId: string | null;
  leaseOwner: string | null;
  lastErrorCode: string | null;
  lastError: string | null;
  lastErrorFix: string | null;
  lastAttemptId: number | null;
  holdReason: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A manual or bulk run: its jobs (one per record) by state, and the bulk run's own progress. */
export interface RunItem {
  runId: string;
  /** The label of what started it (`manual`, `manual-debug`, `bulk`, `batch`, `retry`, `demo`). */
  trigger: string;
  createdAt: number;
  updatedAt: number;
  /** Jobs in the run (one per record). */
  total: number;
  jobs: Record<JobState, number>;
  bulk: { mode: BulkMode; status: 'running' | 'done'; enumerated: number; expected: number | null; enumerationDone: boolean } | null;
}

export interface ViewsPort {
  activity(q: ActivityQuery): Promise<{ total: number; items: ActivityItem[] }>;
  /** Newest first, the page after `beforeId` (keyset: each page costs the same however deep the export is). */
  activityRows(filter: ActivityFilter, page: { beforeId?: number | undefined; limit: number }): Promise<ActivityItem[]>;
  /** Triggers and error codes of the attempts finished since an ISO time, most frequent first. */
  activityFacets(since: string): Promise<Facets>;
  outcomeSeries(since: Date, bucketMs: number, buckets: number): Promise<Record<AttemptOutcome, number[]>>;
  usageSeries(since: Date, bucketMs: number, buckets: number): Promise<UsageSeries>;
  dayTotals(since: Date): Promise<DayTotals>;
  /** Totals of the attempts with afterId < id <= throughId (no upper bound without it). */
  attemptTotals(afterId: number, throughId?: number): Promise<AttemptTotals[]>;
  /**
   * An attempt id W such that every attempt with an id up to W finished before `finishedBefore` and is
   * committed (0 when none): counters add up to W once and re-read only what follows.
   */
  settledAttemptId(finishedBefore: string): Promise<number>;
  /**
   * Attempts finished in [since, until) by prompt version and outcome: the versions used most recently
   * first, attempts without a version last. Lets a person compare what a PromptText change did.
   */
  promptVersionOutcomes(since: string, until?: string): Promise<PromptVersionOutcomes[]>;
  /** Records (customers) by the outcome of their latest attempt. */
  recordCounts(): Promise<Record<AttemptOutcome, number>>;
  jobs(q: JobQuery): Promise<{ total: number; items: JobItem[] }>;
  /** Runs newest first. */
  runs(q: { limit: number; offset: number }): Promise<{ total: number; items: RunItem[] }>;
}
