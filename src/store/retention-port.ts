import { ConnectorError } from '../shared/errors.js';

/**
 * Retention and erasure: how long the store keeps what it learns about customers, and how it lets
 * go of it. The ledger (tokens, cost, outcome, error code, timings, ids of attempts) is never erased:
 * spend caps and the usage views count from it, and it holds no field value.
 */

/**
 * Rows a retention purge blanked (or would blank). What goes: the request, the response, the parsed
 * answer, the fields written (before and after) and the error message, which may quote a value
 * (a customer's name, a refusal that repeats the input). Error codes and fixes stay: they are built
 * from codes, statuses and the config, never from a customer's fields.
 */
export interface BodyCounts {
  /** Sync-log attempts. */
  attempts: number;
  /** Prompt-lab trial attempts (`ipaas-openai try`). */
  trials: number;
  /** Finished jobs (written, skipped, failed) still holding a stored answer or an error message. */
  jobs: number;
}

/** Rows the store holds about one customer, by what they are. */
export interface CustomerTraces {
  customerNumber: string;
  /** The iPaaS.com ids the store knows for this CustomerNumber (rows naming only the id are found by it). */
  customerIds: string[];
  /** Sync-log attempts: erased to anonymous cost rows (tokens, cost, outcome, times stay; who and what go). */
  attempts: number;
  /** Each record's latest outcome: deleted. */
  records: number;
  /** Queue jobs (stored answers, written values, review proposals): deleted. */
  jobs: number;
  /** Sync state (values written, input fingerprint): deleted. */
  syncState: number;
  /** Prompt-lab trial attempts: erased to anonymous cost rows, like attempts. */
  trials: number;
  /** Webhook deliveries naming the customer's id: deleted. */
  webhookEvents: number;
  /** Request templates only this customer's attempts used (a PromptText with {{placeholders}} holds its values): deleted. */
  templates: number;
}

export interface PurgeOptions {
  /** Rows per batch (one short write transaction each); default 500. */
  batchSize?: number | undefined;
  /** Stops between batches (serve shutting down). */
  signal?: AbortSignal | undefined;
}

export interface RetentionPort {
  /** What `purgeBodies(before)` would blank now. */
  countBodies(before: string): Promise<BodyCounts>;
  /**
   * Blanks the bodies of attempts and trial attempts finished before `before` (ISO), and the stored
   * answers and error texts of jobs finished before it, keeping tokens, cost, outcome, timings and ids.
   * Idempotent, and in small batches (`batchSize` rows each), so a large purge never holds the write
   * lock for long and other work goes on between batches. Aborted by `signal`, it stops after the batch
   * in hand and returns what it blanked so far (the next run carries on).
   */
  purgeBodies(before: string, options?: PurgeOptions): Promise<BodyCounts>;
  /** Every row about this customer, by CustomerNumber and the iPaaS.com ids known for it (all zero: none). */
  findCustomer(customerNumber: string): Promise<CustomerTraces>;
  /**
   * Erases every row about this customer in one transaction (see CustomerTraces for what happens to
   * each) and returns what it erased. Throws, naming the job, when one of the customer's jobs is in
   * flight (a call or write-back under a live lease, or a line in an open OpenAI batch).
   */
  eraseCustomer(customerNumber: string, now?: number): Promise<CustomerTraces>;
  /**
   * Makes the space freed by erasures unreadable in the database's files (SQLite: WAL checkpointed and
   * truncated, VACUUM; PostgreSQL: VACUUM of the tables). Returns the steps taken, for people.
   */
  scrubFreedSpace(): Promise<string[]>;
}

export const NO_TRACES = (customerNumber: string): CustomerTraces => ({
  customerNumber, customerIds: [], attempts: 0, records: 0, jobs: 0, syncState: 0, trials: 0, webhookEvents: 0, templates: 0,
});

/** True when the store holds nothing about the customer. */
export const isTraceless = (t: CustomerTraces): boolean =>
  t.attempts + t.records + t.jobs + t.syncState + t.trials + t.webhookEvents + t.templates === 0;

/** What an anonymous attempt row names instead of the customer it was about. */
export const ERASED_REF = '(erased)';

/** A template marker in a stored request or response (store/sqlite/request-templates.ts). */
export const TEMPLATE_MARKER = /\$template:([A-Za-z0-9_-]+)/g;

/** The template keys a stored document refers to. */
export function templateKeys(...docs: Array<string | null | undefined>): string[] {
  const keys = new Set<string>();
  for (const d of docs) if (d) for (const m of d.matchAll(TEMPLATE_MARKER)) keys.add(m[1]!);
  return [...keys];
}

/** Why a customer cannot be erased now: one of its jobs is in flight (`job`: its id, state and lease owner). */
export function inFlight(customerNumber: string, job: Record<string, unknown>): ConnectorError {
  const how = job.state === 'batched' ? 'in an OpenAI batch that has not finished' : `${String(job.state)} under a lease held by ${String(job.lease_owner)}`;
  return new ConnectorError('INVALID_INPUT', `Customer ${customerNumber} has a job in flight (job ${String(job.id)}, ${how}); erasing it now would let that job write its data back.`, {
    fix: `Wait until it ends (\`ipaas-openai logs ${customerNumber}\` shows it), or stop serve, then run the purge again. Nothing was erased.`,
  });
}
