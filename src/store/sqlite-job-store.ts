import type { SqliteDatabase } from './sqlite-database.js';
import { assertTransition, type JobState } from '../queue/job-states.js';
import { parseTrigger, triggerLabel, type JobTrigger } from '../queue/trigger.js';
import { GroupCommit } from './group-commit.js';
import { installTransitions, movesTo, staysOrMovesTo } from './sqlite-transitions.js';

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
  createdAt: number;
  updatedAt: number;
}

/** How an attempt ended, for the job row; `answer` replaces the stored answer when given. */
export interface JobOutcome {
  attemptId?: number | null;
  code?: string | null;
  error?: string | null;
  fix?: string | null;
  answer?: unknown;
}

export interface EnqueueResult {
  job: Job;
  /** True when an equal job was already waiting and this one was folded into it. */
  coalesced: boolean;
}

export interface CustomerSyncState {
  customerId: string;
  customerNumber: string | null;
  inputFingerprint: string;
  written: Record<string, string>;
  lastResponseId: string | null;
  lastWrittenAt: number;
}

type Row = Record<string, unknown>;

const outcomeParams = (o: JobOutcome) => ({
  attemptId: o.attemptId ?? null,
  code: o.code ?? null,
  error: o.error ?? null,
  fix: o.fix ?? null,
  answer: o.answer === undefined ? null : JSON.stringify(o.answer),
});

function toJob(r: Row): Job {
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
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/**
 * The durable queue in SQLite. A claim is one state-checked UPDATE inside
 * BEGIN IMMEDIATE; a lease is an expiry that the worker extends while it
 * works, and an expired lease makes the job claimable again.
 */
export class SqliteJobStore {
  private readonly s;
  private readonly group: GroupCommit;

  /**
   * Customer ids are only unique within one iPaaS.com account: the sync state
   * (fingerprints, last written values) is kept per account, so a database that
   * has seen staging, or another emulator, never mistakes those records for these.
   */
  private namespace = '';

  constructor(private readonly db: SqliteDatabase) {
    this.group = new GroupCommit(db);
    installTransitions(db);
    // Every statement that changes a job's state checks the move against the state machine in SQL.
    const calling = `CASE WHEN state = 'pending' THEN 'calling' ELSE state END`;
    const handBack = `CASE WHEN state = 'calling' THEN 'pending' ELSE state END`;
    const retried = `CASE WHEN answer_json IS NOT NULL THEN 'answered' ELSE 'pending' END`;
    this.s = {
      insert: db.prepare(`INSERT INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, event_key, created_at, updated_at)
        VALUES (@customerId, @ref, @refKind, @trigger, @priority, 'pending', 0, @maxAttempts, @now, @runId, @eventKey, @now, @now)`),
      // Two lookups, each on its own index: an OR across columns would scan every pending job.
      waitingForCustomer: db.prepare(`SELECT * FROM jobs WHERE customer_id = ? AND state = 'pending' AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`),
      waitingForRef: db.prepare(`SELECT * FROM jobs WHERE ref = ? AND state = 'pending' AND ref_kind = ? AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`),
      coalesce: db.prepare(`UPDATE jobs SET coalesced = coalesced + 1, priority = max(priority, @priority), trigger = @trigger, updated_at = @now WHERE id = @id`),
      get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      insertRun: db.prepare(`INSERT OR IGNORE INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, event_key, created_at, updated_at)
        VALUES (@customerId, @ref, @refKind, @trigger, @priority, 'pending', 0, @maxAttempts, @now, @runId, @eventKey, @now, @now)`),
      latestRun: db.prepare('SELECT run_id FROM jobs WHERE run_id = ? OR run_id LIKE ? ORDER BY id DESC LIMIT 1'),
      runStates: db.prepare('SELECT id, state, last_attempt_id, run_after FROM jobs WHERE run_id = ? ORDER BY id'),
      openInRun: db.prepare(`SELECT count(*) AS n FROM jobs WHERE run_id = ? AND state IN ('pending','calling','answered')`),
      // Ready jobs, skipping customers that have a job in flight (one call per customer at a time).
      // Jobs waiting for a batch file are the batch runner's, not the direct workers'.
      ready: db.prepare(`SELECT id FROM jobs j WHERE state IN ('pending','calling','answered') AND run_after <= @now AND NOT (trigger = 'batch' AND state = 'pending')
          AND (lease_until IS NULL OR lease_until < @now)
          AND (j.customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.customer_id = j.customer_id AND o.id <> j.id AND o.lease_until >= @now AND o.state IN ('calling','answered')))
        ORDER BY priority DESC, run_after, id LIMIT @limit`),
      // Claiming a pending job starts its call in the same statement (one commit fewer per record).
      lease: db.prepare(`UPDATE jobs SET lease_owner = @owner, lease_until = @until, updated_at = @now,
          state = ${calling} WHERE id = @id AND (lease_until IS NULL OR lease_until < @now) AND ${staysOrMovesTo(calling)}`),
      extend: db.prepare(`UPDATE jobs SET lease_until = @until WHERE lease_owner = @owner AND id = @id`),
      setCustomer: db.prepare(`UPDATE jobs SET customer_id = @customerId WHERE id = @id`),
      answered: db.prepare(`UPDATE jobs SET state = 'answered', answer_json = @answer, updated_at = @now,
          lease_owner = coalesce(@owner, lease_owner), lease_until = coalesce(@until, lease_until) WHERE id = @id AND state = @from AND ${movesTo("'answered'")}`),
      finish: db.prepare(`UPDATE jobs SET state = @state, lease_owner = NULL, lease_until = NULL, last_attempt_id = @attemptId, answer_json = coalesce(@answer, answer_json),
          last_error_code = @code, last_error = @error, last_error_fix = @fix, updated_at = @now WHERE id = @id AND state = @from AND ${movesTo('@state')}`),
      retryLater: db.prepare(`UPDATE jobs SET state = @state, attempts = attempts + 1, run_after = @runAfter, lease_owner = NULL, lease_until = NULL, answer_json = coalesce(@answer, answer_json),
          last_attempt_id = @attemptId, last_error_code = @code, last_error = @error, last_error_fix = @fix, updated_at = @now WHERE id = @id AND state = @from AND ${movesTo('@state')}`),
      release: db.prepare(`UPDATE jobs SET lease_owner = NULL, lease_until = NULL, state = ${handBack}, updated_at = @now WHERE lease_owner = @owner AND state IN ('calling','answered','pending') AND ${staysOrMovesTo(handBack)}`),
      expiredCalling: db.prepare(`UPDATE jobs SET state = 'pending', attempts = attempts + 1, last_error = 'The worker stopped while the OpenAI call was in flight (lease expired); the call is repeated.', updated_at = @now
          WHERE state = 'calling' AND lease_until < @now AND ${movesTo("'pending'")}`),
      hold: db.prepare(`UPDATE jobs SET state = 'held', hold_kind = @kind, hold_reason = @reason, run_after = @until, lease_owner = NULL, lease_until = NULL,
          last_attempt_id = coalesce(@attemptId, last_attempt_id), updated_at = @now WHERE id = @id AND state = @from AND ${movesTo("'held'")}`),
      releaseHeld: db.prepare(`UPDATE jobs SET state = 'pending', hold_kind = NULL, hold_reason = NULL, run_after = @now, updated_at = @now WHERE state = 'held' AND hold_kind = @kind AND (@due = 0 OR run_after <= @now) AND ${movesTo("'pending'")}`),
      pendingForBatch: db.prepare(`SELECT * FROM jobs WHERE run_id = ? AND trigger = 'batch' AND state = 'pending' AND run_after <= ? AND id > ? ORDER BY id LIMIT ?`),
      countForBatch: db.prepare(`SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE run_id = ? AND trigger = 'batch' AND state = 'pending' AND run_after <= ? LIMIT ?)`),
      markBatched: db.prepare(`UPDATE jobs SET state = 'batched', batch_id = @batchId, updated_at = @now WHERE id = @id AND state = 'pending' AND ${movesTo("'batched'")}`),
      inBatch: db.prepare(`SELECT * FROM jobs WHERE batch_id = ? AND state = 'batched'`),
      unbatch: db.prepare(`UPDATE jobs SET state = 'pending', trigger = @trigger, batch_id = NULL, attempts = attempts + 1, run_after = @now,
          last_error = @error, updated_at = @now WHERE id = @id AND state = 'batched' AND ${movesTo("'pending'")}`),
      owners: db.prepare(`SELECT DISTINCT lease_owner AS owner FROM jobs WHERE lease_owner IS NOT NULL`),
      releaseDead: db.prepare(`UPDATE jobs SET lease_owner = NULL, lease_until = NULL,
          attempts = attempts + CASE WHEN state = 'calling' THEN 1 ELSE 0 END,
          state = ${handBack},
          last_error = CASE WHEN state = 'calling' THEN 'The worker died while the OpenAI call was in flight; the call is repeated.' ELSE last_error END,
          updated_at = @now WHERE lease_owner = @owner AND ${staysOrMovesTo(handBack)}`),
      retryFailed: db.prepare(`UPDATE jobs SET state = ${retried}, attempts = 0, run_after = @now, hold_kind = NULL, hold_reason = NULL,
          lease_owner = NULL, lease_until = NULL, trigger = CASE WHEN trigger LIKE 'retry%' THEN trigger ELSE 'retry' END, updated_at = @now
          WHERE id = @id AND (state = 'failed' OR (state = 'held' AND hold_kind = 'quota')) AND ${movesTo(retried)}`),
      getState: db.prepare('SELECT * FROM customer_state WHERE customer_id = ?'),
      openJobKeys: db.prepare(`SELECT customer_id, ref, ref_kind FROM jobs WHERE state IN ('pending','calling','answered','batched') OR (state = 'held' AND hold_kind IS NOT 'quota')`),
      failedJobKeys: db.prepare(`SELECT id, customer_id, ref, ref_kind FROM jobs WHERE state = 'failed' OR (state = 'held' AND hold_kind = 'quota') ORDER BY id DESC`),
      putState: db.prepare(`INSERT INTO customer_state (customer_id, customer_number, input_fingerprint, written_json, last_response_id, last_written_at)
          VALUES (@customerId, @customerNumber, @inputFingerprint, @written, @lastResponseId, @lastWrittenAt)
          ON CONFLICT(customer_id) DO UPDATE SET customer_number = excluded.customer_number, input_fingerprint = excluded.input_fingerprint,
            written_json = excluded.written_json, last_response_id = excluded.last_response_id, last_written_at = excluded.last_written_at`),
      seenEvent: db.prepare('SELECT job_id, outcome FROM webhook_events WHERE event_key = ?'),
      putEvent: db.prepare(`INSERT OR IGNORE INTO webhook_events (event_key, delivery_id, attempt, scope, customer_id, received_at, job_id, outcome)
          VALUES (@eventKey, @deliveryId, @attempt, @scope, @customerId, @now, @jobId, @outcome)`),
      counts: db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state'),
      runCounts: db.prepare('SELECT state, count(*) AS n FROM jobs WHERE run_id = ? GROUP BY state'),
    };
  }

  /** Adds a job, or folds it into a waiting one for the same customer (the newest data is loaded when it runs). */
  enqueue(job: NewJob, now = Date.now()): EnqueueResult {
    const waiting = job.runId
      ? undefined
      : ((job.customerId ? this.s.waitingForCustomer.get(job.customerId) : undefined) ?? this.s.waitingForRef.get(job.ref, job.refKind)) as Row | undefined;
    if (waiting) {
      this.s.coalesce.run({ id: waiting.id, priority: job.priority ?? 0, trigger: triggerLabel(job.trigger), now });
      return { job: this.get(waiting.id as number)!, coalesced: true };
    }
    const info = this.s.insert.run({
      customerId: job.customerId ?? null, ref: job.ref, refKind: job.refKind, trigger: triggerLabel(job.trigger),
      priority: job.priority ?? 0, maxAttempts: job.maxAttempts, runId: job.runId ?? null, eventKey: job.eventKey ?? null, now,
    });
    return { job: this.get(Number(info.lastInsertRowid))!, coalesced: false };
  }

  /** Jobs of a bulk run: a customer already in the run is not added twice (re-enumerating a page is harmless). */
  insertRunJobs(jobs: NewJob[], now = Date.now()): number {
    let added = 0;
    for (const j of jobs) {
      added += this.s.insertRun.run({
        customerId: j.customerId ?? null, ref: j.ref, refKind: j.refKind, trigger: triggerLabel(j.trigger), priority: j.priority ?? 0,
        maxAttempts: j.maxAttempts, runId: j.runId, eventKey: null, now,
      }).changes;
    }
    return added;
  }

  /** The newest run whose id is `key` or `key.<n>` (a manual sync of the same customers), if any. */
  latestRunId(key: string): string | undefined {
    return (this.s.latestRun.get(key, `${key}.%`) as { run_id: string } | undefined)?.run_id;
  }

  /** Where each job of a run stands, in a few columns (polled while a run is followed). */
  runStates(runId: string): Array<{ id: number; state: JobState; lastAttemptId: number | null; runAfter: number }> {
    return (this.s.runStates.all(runId) as Row[]).map((r) => ({ id: r.id as number, state: r.state as JobState, lastAttemptId: (r.last_attempt_id as number | null) ?? null, runAfter: r.run_after as number }));
  }

  /** Jobs of a run still to finish now (pending or in flight), for back-pressure. */
  openInRun(runId: string): number {
    return (this.s.openInRun.get(runId) as { n: number }).n;
  }

  enqueueMany(jobs: NewJob[], now = Date.now()): EnqueueResult[] {
    return this.db.transaction(() => jobs.map((j) => this.enqueue(j, now)))();
  }

  get(id: number): Job | undefined {
    const r = this.s.get.get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /**
   * Claims up to `limit` ready jobs for `owner`: a pending job comes back in
   * `calling`, an answered one (its write still to do) stays `answered`. Jobs
   * whose lease expired while calling count as a failed try and are claimable again.
   */
  claim(owner: string, limit: number, leaseMs: number, now = Date.now()): Job[] {
    return this.db.transaction(() => {
      this.s.expiredCalling.run({ now });
      const ids = (this.s.ready.all({ now, limit }) as Row[]).map((r) => r.id as number);
      const claimed: Job[] = [];
      const seenCustomers = new Set<string>();
      for (const id of ids) {
        const job = this.get(id)!;
        if (job.customerId && seenCustomers.has(job.customerId)) continue;
        if (this.s.lease.run({ id, owner, until: now + leaseMs, now }).changes === 1) {
          if (job.customerId) seenCustomers.add(job.customerId);
          claimed.push({ ...job, state: job.state === 'pending' ? 'calling' : job.state, leaseOwner: owner, leaseUntil: now + leaseMs });
        }
      }
      return claimed;
    }).immediate();
  }

  extendLeases(owner: string, ids: number[], leaseMs: number, now = Date.now()): void {
    this.db.transaction(() => {
      for (const id of ids) this.s.extend.run({ id, owner, until: now + leaseMs });
    })();
  }


  setCustomerId(jobId: number, customerId: string): void {
    this.s.setCustomer.run({ id: jobId, customerId });
  }

  /** The crash-safety point: the answer is durable before anything is written to iPaaS.com. */
  storeAnswer(job: Job, answer: unknown, lease?: { owner: string; ms: number }, now = Date.now()): void {
    assertTransition(job.id, job.state, 'answered');
    // A batch result is applied outside the worker pool: the lease keeps the pool off it meanwhile.
    const params = { id: job.id, from: job.state, answer: JSON.stringify(answer), owner: lease?.owner ?? null, until: lease ? now + lease.ms : null, now };
    if (this.s.answered.run(params).changes !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    job.state = 'answered';
    job.answer = answer;
  }

  /** Ends a job: written, skipped or failed (the dead letter, with its reason). */
  finish(job: Job, to: 'written' | 'skipped' | 'failed', outcome: JobOutcome, sideEffect?: () => void, now = Date.now()): void {
    assertTransition(job.id, job.state, to);
    this.db.transaction(() => {
      const changes = this.s.finish.run({ id: job.id, from: job.state, state: to, ...outcomeParams(outcome), now }).changes;
      if (changes !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
      sideEffect?.();
    })();
    job.state = to;
  }

  /** A retryable failure: back to pending (or answered, keeping the stored answer) after `delayMs`. */
  retryLater(job: Job, delayMs: number, outcome: JobOutcome, now = Date.now()): void {
    const to: JobState = job.state === 'answered' ? 'answered' : 'pending';
    assertTransition(job.id, job.state, to);
    this.s.retryLater.run({ id: job.id, from: job.state, state: to, runAfter: now + delayMs, ...outcomeParams(outcome), now });
    job.state = to;
  }

  /** Graceful shutdown: hand back every job this owner holds; calls in flight will be repeated. */
  releaseAll(owner: string, now = Date.now()): number {
    return this.s.release.run({ owner, now }).changes;
  }

  /** The job waits, visibly, until `until` (a spend cap's next period) or until released. */
  hold(job: Job, hold: { kind: HoldKind; reason: string }, until: number, now = Date.now(), attemptId: number | null = null): void {
    assertTransition(job.id, job.state, 'held');
    if (this.s.hold.run({ id: job.id, from: job.state, kind: hold.kind, reason: hold.reason, until, now, attemptId }).changes !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    job.state = 'held';
  }


  /** Held jobs of a kind ('budget' or 'quota') back to pending: those whose time came, or all of them. */
  releaseHeld(kind: HoldKind, options: { onlyDue: boolean }, now = Date.now()): number {
    return this.s.releaseHeld.run({ kind, due: options.onlyDue ? 1 : 0, now }).changes;
  }


  /** Bulk jobs waiting to be written into a batch file. */
  pendingForBatch(runId: string, limit: number, afterId = 0, now = Date.now()): Job[] {
    return (this.s.pendingForBatch.all(runId, now, afterId, limit) as Row[]).map(toJob);
  }

  /** How many wait for a batch file (counting stops at `cap`). */
  countForBatch(runId: string, cap: number, now = Date.now()): number {
    return (this.s.countForBatch.get(runId, now, cap) as { n: number }).n;
  }

  /** The jobs whose lines went into an OpenAI batch (one commit with the batch's own row). */
  markBatched(ids: number[], batchId: string, now = Date.now()): void {
    for (const id of ids) this.s.markBatched.run({ id, batchId, now });
  }

  jobsInBatch(batchId: string): Job[] {
    return (this.s.inBatch.all(batchId) as Row[]).map(toJob);
  }

  /** A batch line failed or expired: back to the queue, as a direct call (`fallback`) or for the next batch. */
  unbatch(job: Job, to: { fallback: boolean }, error: string, now = Date.now()): void {
    const trigger: JobTrigger = { source: 'batch', fallback: to.fallback };
    assertTransition(job.id, job.state, 'pending');
    this.s.unbatch.run({ id: job.id, trigger: triggerLabel(trigger), error, now });
    job.state = 'pending';
    job.trigger = trigger;
  }

  /** Workers that hold leases now. */
  leaseOwners(): string[] {
    return (this.s.owners.all() as Row[]).map((r) => r.owner as string);
  }

  /** A worker known to be dead (killed): its jobs are claimable at once instead of after the lease. */
  releaseDeadOwner(owner: string, now = Date.now()): number {
    return this.s.releaseDead.run({ owner, now }).changes;
  }

  /** Re-runs dead-lettered jobs (all failed ones when no ids are given). */
  retryFailed(ids: number[] | 'all', now = Date.now()): number {
    return this.db.transaction(() => {
      const list = ids === 'all' ? (this.db.prepare(`SELECT id FROM jobs WHERE state = 'failed' OR (state = 'held' AND hold_kind = 'quota')`).all() as Row[]).map((r) => r.id as number) : ids;
      let n = 0;
      for (const id of list) n += this.s.retryFailed.run({ id, now }).changes;
      return n;
    })();
  }

  /**
   * Queues each of these records (the ones whose latest outcome is failed) once: its newest failed job
   * goes back (a stored answer is reused, not paid again), or a new job when it has none (a direct CLI
   * sync). A record with a job already open is left to that job, so two failed runs of the same
   * customer never become two calls.
   */
  retryRecords(records: Array<{ customerId: string | null; customerNumber: string | null }>, maxAttempts: number, now = Date.now()): number {
    return this.db.transaction(() => {
      const keysOf = (r: { customer_id: unknown; ref: unknown; ref_kind: unknown }) =>
        [r.customer_id ? `id:${String(r.customer_id)}` : undefined, `${String(r.ref_kind)}:${String(r.ref)}`].filter((k): k is string => !!k);
      const open = new Set<string>();
      for (const r of this.s.openJobKeys.all() as Row[]) for (const k of keysOf(r as never)) open.add(k);
      const newestFailed = new Map<string, number>();
      for (const r of this.s.failedJobKeys.all() as Row[]) for (const k of keysOf(r as never)) if (!newestFailed.has(k)) newestFailed.set(k, r.id as number);
      let n = 0;
      for (const rec of records) {
        const keys = [rec.customerId ? `id:${rec.customerId}` : undefined, rec.customerNumber ? `number:${rec.customerNumber}` : undefined].filter((k): k is string => !!k);
        if (keys.length === 0 || keys.some((k) => open.has(k))) continue;
        const jobId = keys.map((k) => newestFailed.get(k)).find((id) => id !== undefined);
        if (jobId !== undefined) n += this.s.retryFailed.run({ id: jobId, now }).changes;
        else {
          this.s.insert.run({ customerId: rec.customerId, ref: rec.customerNumber ?? rec.customerId, refKind: rec.customerNumber ? 'number' : 'id', trigger: triggerLabel({ source: 'retry' }), priority: 5, maxAttempts, runId: null, eventKey: null, now });
          n++;
        }
        for (const k of keys) open.add(k);
      }
      return n;
    })();
  }

  list(q: { state?: JobState | undefined; runId?: string | undefined; limit?: number; offset?: number } = {}): Job[] {
    const where: string[] = [];
    const params: Row = { limit: q.limit ?? 50, offset: q.offset ?? 0 };
    if (q.state) (where.push('state = @state'), (params.state = q.state));
    if (q.runId) (where.push('run_id = @runId'), (params.runId = q.runId));
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit OFFSET @offset`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toJob);
  }

  counts(runId?: string): Record<JobState, number> {
    const rows = (runId ? this.s.runCounts.all(runId) : this.s.counts.all()) as Row[];
    const out = { pending: 0, calling: 0, batched: 0, answered: 0, written: 0, skipped: 0, failed: 0, held: 0 } as Record<JobState, number>;
    for (const r of rows) out[r.state as JobState] = r.n as number;
    return out;
  }

  /** Which iPaaS.com account the sync state belongs to (its base URL). */
  setAccount(account: string): void {
    this.namespace = `${account.replace(/\/+$/, '')}#`;
  }

  customerState(customerId: string): CustomerSyncState | undefined {
    const r = this.s.getState.get(this.namespace + customerId) as Row | undefined;
    if (!r) return undefined;
    return {
      customerId,
      customerNumber: r.customer_number as string | null,
      inputFingerprint: r.input_fingerprint as string,
      written: JSON.parse(r.written_json as string) as Record<string, string>,
      lastResponseId: r.last_response_id as string | null,
      lastWrittenAt: r.last_written_at as number,
    };
  }

  putCustomerState(s: CustomerSyncState): void {
    this.s.putState.run({ ...s, customerId: this.namespace + s.customerId, written: JSON.stringify(s.written) });
  }

  /** Webhook deliveries already seen, by their event key (duplicate detection). */
  seenEvent(eventKey: string): { jobId: number | null; outcome: string } | undefined {
    const r = this.s.seenEvent.get(eventKey) as Row | undefined;
    return r ? { jobId: r.job_id as number | null, outcome: r.outcome as string } : undefined;
  }

  recordEvent(e: { eventKey: string; deliveryId: string; attempt: number; scope: string; customerId: string; jobId: number | null; outcome: string }, now = Date.now()): boolean {
    return this.s.putEvent.run({ ...e, now }).changes === 1;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** The same, committed together with whatever else is queued this turn (resolves once durable). */
  commit<T>(fn: () => T): Promise<T> {
    return this.group.run(fn);
  }
}
