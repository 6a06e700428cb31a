/** The storage interface the pipeline needs; SQLite implements it (PostgreSQL can later). */
export type Outcome = 'synced' | 'failed' | 'skipped';

export interface AttemptRecord {
  startedAt: string;
  finishedAt: string;
  /** What started it, as a label (jobs/trigger.ts: triggerLabel). */
  trigger: string;
  customerId: string | null;
  customerNumber: string | null;
  /** What the person asked for (CustomerNumber or id), kept even when the customer cannot be loaded. */
  requestedRef: string;
  collection: string | null;
  outcome: Outcome;
  errorCode: string | null;
  errorMessage: string | null;
  errorFix: string | null;
  retryable: boolean;
  api: string | null;
  model: string | null;
  request: unknown;
  response: unknown;
  answer: unknown;
  writes: unknown;
  responseId: string | null;
  requestId: string | null;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costUsd: number | null;
  loadMs: number | null;
  openaiMs: number | null;
  writeMs: number | null;
  totalMs: number;
  /** The queue job this attempt ran for, when it came from the service. */
  jobId?: number | null;
  /** Notes a person should see, e.g. "human-edit: Comment kept". */
  flags?: string[] | null;
}

export interface StoredAttempt extends AttemptRecord {
  id: number;
}

export interface RecordState {
  recordKey: string;
  customerId: string | null;
  customerNumber: string | null;
  status: Outcome;
  lastAttemptId: number;
  lastError: string | null;
  attempts: number;
  updatedAt: string;
}

export interface AttemptQuery {
  customerNumber?: string | undefined;
  outcome?: Outcome | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface SyncStore {
  readonly jobs: import('./sqlite-job-store.js').SqliteJobStore;
  recordAttempt(a: AttemptRecord): StoredAttempt;
  listAttempts(q?: AttemptQuery): StoredAttempt[];
  getAttempt(id: number): StoredAttempt | undefined;
  recordStates(status?: Outcome): RecordState[];
  totals(): { outcome: Outcome; count: number; inputTokens: number; cachedTokens: number; outputTokens: number; costUsd: number }[];
  close(): Promise<void>;
}
