/**
 * The storage ports: everything the runner, the triggers, the server, the CLI and the pacing need to
 * keep, as async interfaces. SQLite (store/sqlite, the embedded default) and PostgreSQL (store/postgres,
 * several instances) are adapters; nothing outside store/ knows which one it talks to.
 */
import type { JobState } from '../queue/job-states.js';
import { parseTrigger, type JobTrigger } from '../queue/trigger.js';
import type { RetentionPort } from './retention-port.js';
import type { ViewsPort } from './views-port.js';

// ---------------------------------------------------------------------------------------------------
// The sync log

export type Outcome = 'synced' | 'failed' | 'skipped';

/** One attempt at one record: what was sent, what came back, tokens, cost, outcome, errors. */
export interface AttemptRecord {
  startedAt: string;
  finishedAt: string;
  /** What started it, as a label (queue/trigger.ts: triggerLabel). */
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
  /** The queue job this attempt ran for. */
  jobId?: number | null;
  /** Notes a person should see, e.g. "human-edit: Comment kept". */
  flags?: string[] | null;
  /** Which try of its job this was (1-based) and of how many; null outside the queue. */
  tryNumber?: number | null;
  maxTries?: number | null;
  /** When the queue tries this job again (ISO); null when this try ended it (synced, skipped or finally failed). */
  nextTryAt?: string | null;
  /** The PromptText version the request was built from (its text is kept once, see PromptVersionsPort). */
  promptVersion?: string | null;
}

export interface StoredAttempt extends AttemptRecord {
  id: number;
  /** The instance that ran it (IPAAS_OPENAI_INSTANCE, default host:pid); the store records it. */
  instance?: string | null;
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

export interface OutcomeTotals {
  outcome: Outcome;
  count: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface SyncLogPort {
  /** Attempts that end no job (a skipped webhook delivery); a job's attempt is written by QueuePort.settle. */
  record(a: AttemptRecord): Promise<StoredAttempt>;
  list(q?: AttemptQuery): Promise<StoredAttempt[]>;
  get(id: number): Promise<StoredAttempt | undefined>;
  /** Each record's latest outcome. */
  records(status?: Outcome): Promise<RecordState[]>;
  totals(): Promise<OutcomeTotals[]>;
  /** Average output tokens of recent successful calls with this model (for estimates); undefined with too few. */
  averageOutputTokens(model: string, minSamples?: number): Promise<number | undefined>;
}

// ---------------------------------------------------------------------------------------------------
// Prompt versions and trials (the prompt lab)

/** Every PromptText ever used, once: attempts and trials name it by its short hash. */
export interface PromptVersionsPort {
  /** Keeps the text of a version (nothing happens when it is known). */
  remember(v: { id: string; text: string }, now?: number): Promise<void>;
  get(id: string): Promise<{ id: string; text: string; firstSeen: number } | undefined>;
}

export type TrialVariant = 'active' | 'candidate';

/**
 * One prompt-lab call: a PromptText tried on a real customer with a real OpenAI call and nothing
 * written to iPaaS.com. Kept apart from the sync log: a trial is never a sync, never changes sync state.
 */
export interface TrialAttemptRecord {
  trialId: string;
  variant: TrialVariant;
  promptVersion: string;
  startedAt: string;
  finishedAt: string;
  customerId: string | null;
  customerNumber: string | null;
  requestedRef: string;
  outcome: 'answered' | 'failed' | 'skipped';
  errorCode: string | null;
  errorMessage: string | null;
  api: string | null;
  model: string | null;
  request: unknown;
  response: unknown;
  answer: unknown;
  /** What a sync would write: field, before, after. */
  writes: unknown;
  responseId: string | null;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  costUsd: number | null;
  totalMs: number;
}

export interface StoredTrialAttempt extends TrialAttemptRecord {
  id: number;
  instance: string | null;
}

export interface TrialsPort {
  record(t: TrialAttemptRecord): Promise<StoredTrialAttempt>;
  list(q?: { trialId?: string | undefined; customerNumber?: string | undefined; limit?: number; offset?: number }): Promise<StoredTrialAttempt[]>;
  /** Trials, newest first: when, how many calls, what they cost. */
  runs(limit?: number): Promise<Array<{ trialId: string; startedAt: string; calls: number; customers: number; costUsd: number }>>;
}

// ---------------------------------------------------------------------------------------------------
// The queue

export type RefKind = 'number' | 'id';
export type HoldKind = 'budget' | 'quota';

export interface NewJob {
  ref: string;
  refKind: RefKind;
  customerId?: string | null | undefined;
  trigger: JobTrigger;
  priority?: number;
  maxAttempts: number;
  runId?: string | null;
  eventKey?: string | null;
}

export interface Job {
  id: number;
  customerId: string | null;
  ref: string;
  refKind: RefKind;
  trigger: JobTrigger;
  priority: number;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAfter: number;
  leaseOwner: string | null;
  leaseUntil: number | null;
  answer: unknown;
  lastErrorCode: string | null;
  lastError: string | null;
  lastErrorFix: string | null;
  lastAttemptId: number | null;
  coalesced: number;
  runId: string | null;
  batchId: string | null;
  /** Why it is held: a spend cap (`budget`) or OpenAI's exhausted quota (`quota`); null unless held. */
  holdKind: HoldKind | null;
  holdReason: string | null;
  /** Who approved its answer for writing (review required); null until then. */
  reviewedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface EnqueueResult {
  job: Job;
  /** True when an equal job was already waiting and this one was folded into it. */
  coalesced: boolean;
}

/** What the sync state remembers of a customer after our write (loop safety, human edits). */
export interface CustomerSyncState {
  customerId: string;
  customerNumber: string | null;
  inputFingerprint: string;
  written: Record<string, string>;
  lastResponseId: string | null;
  lastWrittenAt: number;
}

/** A job's error as its row keeps it. */
export interface JobError {
  code: string | null;
  message: string | null;
  fix: string | null;
}

/**
 * How one run of a job ends, decided by the runner and committed by the queue in one transaction
 * with the attempt's log row (and, for a write, the customer's new sync state).
 */
export type Settlement =
  | { to: 'written'; attempt: AttemptRecord; answer: unknown; syncState: CustomerSyncState }
  | { to: 'skipped'; attempt?: AttemptRecord | undefined; reason: string }
  | { to: 'failed'; attempt?: AttemptRecord | undefined; error: JobError; answer?: unknown }
  /** Retryable: back to pending (or answered, keeping the stored answer) after `delayMs`; counts a try. `trigger`: it goes on another way (flex without capacity -> a batch). */
  | { to: 'retry'; attempt?: AttemptRecord | undefined; error: JobError; delayMs: number; answer?: unknown; trigger?: JobTrigger | undefined }
  | { to: 'held'; attempt?: AttemptRecord | undefined; hold: { kind: HoldKind; reason: string }; until: number }
  /** Review required: the answer (with the proposed writes) waits for a person; no attempt row yet. */
  | { to: 'review'; attempt?: undefined; answer: unknown };

export interface Settled {
  /** The attempt's row, when the settlement carried one. */
  attempt: StoredAttempt | null;
}

/** A webhook notification, classified by the intake; the queue dedupes it and enqueues it in one commit. */
export interface IntakeItem {
  eventKey: string;
  deliveryId: string;
  attempt: number;
  scope: string;
  customerId: string;
  /** The job to enqueue; absent when the intake already decided to skip it (`skipReason`). */
  job?: NewJob | undefined;
  skipReason?: string | undefined;
}

/** Why a notification became a skipped attempt instead of a new job. */
export type IntakeSkip = { kind: 'duplicate'; jobId: number | null } | { kind: 'skipped'; reason: string } | { kind: 'coalesced'; jobId: number };

export type IntakeOutcome =
  | { kind: 'enqueued'; job: Job; coalesced: boolean }
  | { kind: 'duplicate'; jobId: number | null }
  | { kind: 'skipped'; reason: string };

export interface QueuePort {
  /** Adds a job, or folds it into a waiting one for the same customer (the newest data is loaded when it runs). */
  enqueue(job: NewJob, now?: number): Promise<EnqueueResult>;
  enqueueMany(jobs: NewJob[], now?: number): Promise<EnqueueResult[]>;
  /** Jobs of a run: a customer already in the run is not added twice. Returns how many were added. */
  insertRunJobs(jobs: NewJob[], now?: number): Promise<number>;
  /**
   * Webhook deliveries: each notification is checked against the deliveries already seen, recorded
   * and enqueued, all in one commit that resolves once durable (the acknowledgement waits for it).
   * `skipAttempt` builds the log row of a notification that starts no new job (a duplicate, one the
   * intake skipped, one folded into a waiting job); it is pure and runs inside the commit.
   */
  intake(items: IntakeItem[], skipAttempt: (item: IntakeItem, why: IntakeSkip) => AttemptRecord, now?: number): Promise<IntakeOutcome[]>;

  get(id: number): Promise<Job | undefined>;
  list(q?: { state?: JobState | undefined; runId?: string | undefined; limit?: number; offset?: number }): Promise<Job[]>;
  counts(runId?: string): Promise<Record<JobState, number>>;
  /** The newest run whose id is `key` or `key.<n>`, if any. */
  latestRunId(key: string): Promise<string | undefined>;
  runStates(runId: string): Promise<Array<{ id: number; state: JobState; lastAttemptId: number | null; runAfter: number }>>;
  /** Jobs of a run still to finish now (pending or in flight), for back-pressure. */
  openInRun(runId: string): Promise<number>;

  /**
   * Claims up to `limit` ready jobs for `owner`: a pending job comes back in `calling`, an answered
   * one stays `answered`; never two jobs of one customer in flight. Expired `calling` leases count a try.
   */
  claim(owner: string, limit: number, leaseMs: number, now?: number): Promise<Job[]>;
  extendLeases(owner: string, ids: number[], leaseMs: number, now?: number): Promise<void>;
  setCustomerId(jobId: number, customerId: string): Promise<void>;
  /** The crash-safety point: the answer is durable before anything is written to iPaaS.com. */
  storeAnswer(job: Job, answer: unknown, now?: number): Promise<void>;
  /** Ends one run of a job (see Settlement); throws when the job is no longer in the state `job` says. */
  settle(job: Job, s: Settlement, now?: number): Promise<Settled>;

  /** Graceful shutdown: hand back every job this owner holds. */
  releaseAll(owner: string, now?: number): Promise<number>;
  /** Hands back one job this owner holds (its run broke off, e.g. the store stopped answering mid-way). */
  releaseJob(owner: string, jobId: number, now?: number): Promise<boolean>;
  /** Held jobs of a kind back to pending: those whose time came, or all of them. */
  releaseHeld(kind: HoldKind, options: { onlyDue: boolean }, now?: number): Promise<number>;
  /** Holders of leases now (to find dead ones). */
  leaseOwners(): Promise<string[]>;
  /** A holder known to be dead: its jobs are claimable at once instead of after the lease. */
  releaseDeadOwner(owner: string, now?: number): Promise<number>;
  /** Re-runs dead-lettered jobs (all when no ids are given). */
  retryFailed(ids: number[] | 'all', now?: number): Promise<number>;

  /** Answers waiting for a person (review required), oldest first; of one customer when given. */
  reviews(q?: { customerId?: string | undefined; limit?: number }): Promise<Job[]>;
  /** Approves waiting answers (all when 'all'): back to answered, to be written without a new call. Returns the approved ids. */
  approveReviews(ids: number[] | 'all', by: string, now?: number): Promise<number[]>;
  /** How many answers wait for a person, and since when the oldest waits (epoch ms; null when none). */
  reviewSummary(): Promise<{ waiting: number; oldestSince: number | null }>;
  /** Queues each of these records once (its newest failed job, or a new job); records with an open job are left to it. */
  retryRecords(records: Array<{ customerId: string | null; customerNumber: string | null }>, maxAttempts: number, now?: number): Promise<number>;

  /** Bulk jobs waiting to be written into a batch file. */
  pendingForBatch(runId: string, limit: number, afterId?: number, now?: number): Promise<Job[]>;
  countForBatch(runId: string, cap: number, now?: number): Promise<number>;
  jobsInBatch(batchId: string): Promise<Job[]>;
  /** A batch line failed or expired: back to the queue, as a direct call (`fallback`) or for the next batch. */
  unbatch(job: Job, to: { fallback: boolean }, error: string, now?: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Customer sync state, runs and batches, pauses, spend

export interface SyncStatePort {
  get(customerId: string): Promise<CustomerSyncState | undefined>;
}

export type BulkMode = 'direct' | 'batch';

export interface BulkRun {
  id: string;
  mode: BulkMode;
  params: Record<string, unknown>;
  status: 'running' | 'done';
  nextPage: number;
  enumerated: number;
  total: number | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface StoredBatch {
  id: string;
  runId: string | null;
  inputFileId: string;
  status: string;
  lines: number;
  outputFileId: string | null;
  errorFileId: string | null;
  applied: boolean;
  nextPollAt: number;
  polls: number;
}

/** A batch about to be created: its jobs are marked as in it under a local id, before anything is sent. */
export const SUBMITTING = 'submitting';

export interface RunsPort {
  run(id: string): Promise<BulkRun | undefined>;
  /** The newest run with these parameters (a finished run is followed by `<key>.2`, `<key>.3`, …). */
  latestRun(key: string): Promise<BulkRun | undefined>;
  runCount(key: string): Promise<number>;
  createRun(id: string, mode: BulkMode, params: Record<string, unknown>, now?: number): Promise<BulkRun>;
  /** One page of customers becomes jobs and the cursor moves, in one commit. Returns how many jobs were added. */
  addPage(runId: string, page: number, jobs: NewJob[], total: number | null, now?: number): Promise<number>;
  finishEnumeration(runId: string, now?: number): Promise<void>;
  finishRun(runId: string, now?: number): Promise<void>;
  /** The record keys of the run's jobs that ended (written, skipped or failed): a resumed run does not send them again. */
  finishedKeys(runId: string): Promise<Set<string>>;

  /** The intent to create a batch (status SUBMITTING) and its jobs marked batched, in one commit. */
  recordSubmission(b: { id: string; runId: string; inputFileId: string; lines: number }, jobIds: number[], now?: number): Promise<void>;
  /** The created batch takes the place of its recorded intent (same jobs, OpenAI's id). */
  confirmSubmission(localId: string, b: { id: string; inputFileId: string; status: string; nextPollAt: number }, now?: number): Promise<void>;
  /** No batch came of the intent: its jobs wait again for the next file. */
  dropSubmission(localId: string, now?: number): Promise<void>;
  updateBatch(id: string, fields: { status: string; outputFileId?: string | null; errorFileId?: string | null; nextPollAt: number }, now?: number): Promise<void>;
  markApplied(id: string, now?: number): Promise<void>;
  /** Batches created at OpenAI and not yet applied. */
  openBatches(runId?: string): Promise<StoredBatch[]>;
  batches(runId: string): Promise<StoredBatch[]>;
  /** One batch by OpenAI's id (a webhook names it), applied or not. */
  batch(id: string): Promise<StoredBatch | undefined>;
  /**
   * Takes (or, for the same owner, extends) the right to apply an ended batch for `leaseMs`: one state-
   * checked update, so of a webhook and a poller (in any instances) applying it at once, one does.
   * False when it is applied, still an intent, or another owner's lease runs; a dead owner's lease expires.
   */
  claimApply(id: string, owner: string, leaseMs: number, now?: number): Promise<boolean>;
  /** Gives the claim up (applying broke off): the next webhook or poll may apply it at once. */
  releaseApply(id: string, owner: string): Promise<void>;
}

/** Why sending stopped for everyone: `quota` = OpenAI answered insufficient_quota. */
export type PauseKind = 'quota';

export interface Pause {
  kind: PauseKind;
  reason: string;
  since: number;
}

/** Pauses live in the store, so any process lifts the pause a running `serve` waits in. */
export interface PausePort {
  get(kind: PauseKind): Promise<Pause | undefined>;
  /** True when this call started the pause. */
  set(kind: PauseKind, reason: string, now?: number): Promise<boolean>;
  /** True when a pause was lifted. */
  clear(kind: PauseKind): Promise<boolean>;
}

/** What was spent: the spend caps count from it. */
export interface SpendLedgerPort {
  /** Tokens and cost logged since an ISO time. */
  since(iso: string): Promise<{ tokens: number; usd: number }>;
}

/**
 * The ledger by stretch of time. Budgets that re-read a shared ledger every second add up closed
 * stretches once and re-read only the open end, instead of summing a whole month each time.
 */
export interface SpendRangePort {
  /** Tokens and cost of attempts started in [fromIso, toIso). */
  between(fromIso: string, toIso: string): Promise<{ tokens: number; usd: number }>;
}

// ---------------------------------------------------------------------------------------------------
// One OpenAI rate budget for several instances

/**
 * The limiter's own settings a shared rate budget judges a call by (each instance passes its own,
 * so a changed config takes effect on restart without touching the stored state).
 */
export interface RateSettings {
  /** Self-imposed caps per minute (openai.rpm / openai.tpm), applied on top of what the server reported. */
  rpm?: number | undefined;
  tpm?: number | undefined;
  /** At most `count` starts in any `windowMs` (the API Throttle Limit), counted over everyone sharing the budget. */
  perWindow?: { count: number; windowMs: number } | undefined;
  /** Fraction of each limit aimed at, in (0, 1]: capacity and refill rate are limit × utilization. */
  utilization: number;
}

/** A call about to start: 1 request and its estimated tokens (input + max output, as OpenAI counts at admission). */
export interface RateAsk extends RateSettings {
  tokens: number;
}

/** A point in a budget's order of grants: requests and tokens granted by it so far, cumulative. */
export interface RateMark {
  requests: number;
  tokens: number;
}

/** Where a shared budget stands after an operation (for snapshots and metrics). */
export interface RateView {
  /** Effective limits (the smaller of configured and server-reported), unscaled; absent while unknown. */
  requestsLimit?: number | undefined;
  tokensLimit?: number | undefined;
  /** Capacity (limit × utilization) and level now; level may be negative (owed). */
  requestsCapacity?: number | undefined;
  tokensCapacity?: number | undefined;
  requests?: number | undefined;
  tokens?: number | undefined;
  /** Cool-down left, ms (0 when none). */
  pausedMs: number;
  /** Grants so far. */
  mark: RateMark;
}

export type RateReservation =
  /** Taken: `mark` is the budget's count including this call (answers to it were counted by the server up to here). */
  | { granted: true; mark: RateMark; view: RateView }
  /** Nothing taken: try again in `waitMs` (the earliest moment this ask could pass, unless someone gives back). */
  | { granted: false; waitMs: number; view: RateView };

/** One kind (requests or tokens) as an `x-ratelimit-*` header set reported it. */
export interface ServerRateKind {
  limit?: number | undefined;
  remaining?: number | undefined;
  /** The limit's refill window when the headers reveal it (a per-day limit); default a minute. */
  windowMs?: number | undefined;
}

/** What happened after grants: settled usage, the server's view, a 429's cool-down — applied in one step. */
export interface RateReport extends RateSettings {
  /** Given back (> 0) or taken in addition (< 0): estimate minus real usage, or a grant that went unused. */
  tokens?: number | undefined;
  requests?: number | undefined;
  /**
   * The server's remaining/limits. `countedThrough` is the mark its answer is known to include: grants
   * after it are subtracted from `remaining`; a report counted through less than one already applied is stale.
   */
  server?: { requests?: ServerRateKind | undefined; tokens?: ServerRateKind | undefined; countedThrough: RateMark } | undefined;
  /** No one sharing the budget starts for this long from now (a 429/503 and its retry-after). */
  coolDownMs?: number | undefined;
}

/**
 * Request and token buckets per key (OpenAI base URL + model) shared by every limiter on it. Reserving
 * is atomic: refill by the time elapsed on the budget's own clock, then take if there is enough. `now`
 * (epoch ms) is for tests; without it the adapter's clock is used (the database's for PostgreSQL).
 */
export interface RateBudgetPort {
  reserve(key: string, ask: RateAsk, now?: number): Promise<RateReservation>;
  report(key: string, report: RateReport, now?: number): Promise<RateView>;
}

/** What a store shared by several instances (PostgreSQL) adds for pacing: one rate budget, the ledger by stretch. */
export interface SharedPacingPorts {
  readonly rateBudget: RateBudgetPort;
  readonly spendRange: SpendRangePort;
}

/** The shared pacing ports of a store, if it has them (several instances can share it). */
export function sharedPacingOf(storage: object): SharedPacingPorts | undefined {
  const s = storage as Partial<SharedPacingPorts>;
  return s.rateBudget && s.spendRange ? { rateBudget: s.rateBudget, spendRange: s.spendRange } : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Read models for the dashboard and /metrics: views-port.ts

export type * from './views-port.js';
export { ATTEMPT_OUTCOMES, attemptOutcome } from './views-port.js';

// ---------------------------------------------------------------------------------------------------
// Messages: every inbound webhook from OpenAI, stored before it is acted on (the article's Message record)

/**
 * What acting on a Message came to. `received`: stored and not acted on (yet, or its process died: polling
 * applies the batch all the same); `fallback`: a batch that failed, expired or was cancelled sent its lines
 * the configured fallback way (batch.onLineFailure); `ignored`: an event this connector does not act on.
 */
export const MESSAGE_OUTCOMES = ['received', 'applied', 'fallback', 'already-applied', 'unknown-batch', 'ignored', 'error'] as const;
export type MessageOutcome = (typeof MESSAGE_OUTCOMES)[number];

export interface NewMessage {
  /** The webhook-id header: one per event, the same on every redelivery of it (Standard Webhooks). */
  webhookId: string;
  /** The Message id: the webhook's scope (its event type) joined with the source id, e.g. `batch.completed:batch_abc`. */
  id: string;
  eventType: string;
  eventId: string | null;
  /** What the event is about (its data.id: a batch or a response). */
  sourceId: string | null;
  /** The body exactly as received; the store keeps it redacted. */
  body: string;
}

export interface StoredMessage extends NewMessage {
  receivedAt: number;
  outcome: MessageOutcome;
  /** What happened, for people: the lines applied and where the others went, or the reason of an error. */
  detail: string | null;
  /** Batch lines settled by acting on it. */
  lines: number | null;
  actedAt: number | null;
  /** Deliveries of the same webhook-id after the first (OpenAI redelivering): each was ignored. */
  replays: number;
  lastReplayAt: number | null;
  /** The instance that received it first. */
  instance: string | null;
}

export interface MessageQuery {
  outcome?: MessageOutcome | undefined;
  sourceId?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface MessagesPort {
  /**
   * Stores a delivery once per webhook-id, in one statement: of two instances receiving the same delivery
   * at once, one stores it and the other gets `replay: true` (the stored message, its replay counted).
   */
  record(m: NewMessage, now?: number): Promise<{ message: StoredMessage; replay: boolean }>;
  /** What acting on it came to. */
  settle(webhookId: string, s: { outcome: Exclude<MessageOutcome, 'received'>; detail: string | null; lines?: number | null | undefined }, now?: number): Promise<void>;
  /** Newest first, with how many match. */
  list(q?: MessageQuery): Promise<{ items: StoredMessage[]; total: number }>;
  get(webhookId: string): Promise<StoredMessage | undefined>;
}

// Retention and erasure (log.retainDays, `ipaas-openai purge`): retention-port.ts

export type * from './retention-port.js';

// ---------------------------------------------------------------------------------------------------

export interface Storage {
  readonly engine: 'sqlite' | 'postgres';
  /** Where it is, for people: a file path, or the URL without its password. */
  readonly location: string;
  readonly queue: QueuePort;
  readonly log: SyncLogPort;
  readonly state: SyncStatePort;
  readonly runs: RunsPort;
  readonly pauses: PausePort;
  readonly ledger: SpendLedgerPort;
  readonly views: ViewsPort;
  readonly prompts: PromptVersionsPort;
  readonly trials: TrialsPort;
  readonly messages: MessagesPort;
  readonly retention: RetentionPort;
  /** Throws, saying what is wrong and what to do, when the store cannot be trusted now (unreachable, deleted). */
  check(): Promise<void>;
  /**
   * Hears the first fatal fault (STORAGE_FAULT: SQLite's disk full, read-only, failing or the file
   * damaged), after which this process can write nothing more; serve then exits non-zero so that a
   * supervisor restarts it. Absent where every outage passes by itself (PostgreSQL).
   */
  onFault?(listener: (fault: Error) => void): void;
  /** Said once at start, e.g. that --fresh set a vanished database aside. */
  readonly notice?: string | undefined;
  close(): Promise<void>;
}

/**
 * The record a sync attempt is about: its identity (CustomerNumber, SKU), else its iPaaS id, else what
 * was asked for; a product's key says so, so a SKU and a CustomerNumber that read alike stay two records.
 */
export function recordKey(a: Pick<AttemptRecord, 'customerNumber' | 'customerId' | 'requestedRef' | 'trigger'>): string {
  const entity = parseTrigger(a.trigger).entity;
  const prefix = entity && entity !== 'customer' ? `${entity}:` : '';
  return a.customerNumber ? `${prefix}${a.customerNumber}` : a.customerId ? `id:${a.customerId}` : `ref:${prefix}${a.requestedRef}`;
}
