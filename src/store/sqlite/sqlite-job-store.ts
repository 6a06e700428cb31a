import type { SqliteDatabase } from './sqlite-database.js';
import { assertTransition, JOB_STATES, type JobState } from '../../queue/job-states.js';
import { triggerLabel, type JobTrigger } from '../../queue/trigger.js';
import { toJob } from '../job-rows.js';
import type {
  AttemptRecord, CustomerSyncState, EnqueueResult, HoldKind, IntakeItem, IntakeOutcome, IntakeSkip, Job, JobError, NewJob, QueuePort, RefKind, Settled, Settlement, StoredAttempt,
} from '../ports.js';
import { GroupCommit } from './group-commit.js';
import type { SqliteSyncLog } from './sqlite-sync-log.js';
import { installTransitions, movesTo, staysOrMovesTo } from './sqlite-transitions.js';

type Row = Record<string, unknown>;

const outcomeParams = (attemptId: number | null, e: Partial<JobError>, answer: unknown) => ({
  attemptId,
  code: e.code ?? null,
  error: e.message ?? null,
  fix: e.fix ?? null,
  answer: answer === undefined ? null : JSON.stringify(answer),
});


/**
 * The durable queue in SQLite. A claim is one state-checked UPDATE inside
 * BEGIN IMMEDIATE; a lease is an expiry that the worker extends while it
 * works, and an expired lease makes the job claimable again.
 */
export class SqliteJobStore implements QueuePort {
  private readonly s;
  private readonly group: GroupCommit;

  /**
   * Customer ids are only unique within one iPaaS.com account: the sync state
   * (fingerprints, last written values) is kept per account, so a database that
   * has seen staging, or another emulator, never mistakes those records for these.
   */
  private namespace = '';
  /**
   * Run after a commit whose result is acknowledged to someone (a webhook's 200, a run's 202): throws
   * when the commit cannot be trusted to outlive a restart (the file was deleted under us).
   */
  afterAcknowledgedCommit: (() => void) | undefined;

  /** `work` in the group commit, then the acknowledgement check. */
  private async acknowledged<T>(work: () => T): Promise<T> {
    const out = await this.group.run(work);
    this.afterAcknowledgedCommit?.();
    return out;
  }

  constructor(
    private readonly db: SqliteDatabase,
    private readonly log: SqliteSyncLog,
  ) {
    this.group = new GroupCommit(db);
    installTransitions(db);
    // Every statement that changes a job's state checks the move against the state machine in SQL.
    const calling = `CASE WHEN state = 'pending' THEN 'calling' ELSE state END`;
    const handBack = `CASE WHEN state = 'calling' THEN 'pending' ELSE state END`;
    const retried = `CASE WHEN answer_json IS NOT NULL THEN 'answered' ELSE 'pending' END`;
    this.s = {
      insert: db.prepare(`INSERT INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, event_key, created_at, updated_at)
        VALUES (@customerId, @ref, @refKind, @trigger, @priority, 'pending', 0, @maxAttempts, @now, @runId, @eventKey, @now, @now) RETURNING *`),
      // The waiting job to fold into: by customer when the id is known (a job by id always has it),
      // else by reference. Only the id: node:sqlite reads every column's name for SELECT *, even on a miss.
      waitingForCustomer: db.prepare(`SELECT id FROM jobs WHERE customer_id = ? AND state = 'pending' AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`),
      waitingForRef: db.prepare(`SELECT id FROM jobs WHERE ref = ? AND state = 'pending' AND ref_kind = ? AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`),
      coalesce: db.prepare(`UPDATE jobs SET coalesced = coalesced + 1, priority = max(priority, @priority), trigger = @trigger, updated_at = @now WHERE id = @id RETURNING *`),
      get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      insertRun: db.prepare(`INSERT OR IGNORE INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, event_key, created_at, updated_at)
        VALUES (@customerId, @ref, @refKind, @trigger, @priority, 'pending', 0, @maxAttempts, @now, @runId, @eventKey, @now, @now)`),
      latestRun: db.prepare('SELECT run_id FROM jobs WHERE run_id = ? OR run_id LIKE ? ORDER BY id DESC LIMIT 1'),
      runStates: db.prepare('SELECT id, state, last_attempt_id, run_after FROM jobs WHERE run_id = ? ORDER BY id'),
      openInRun: db.prepare(`SELECT count(*) AS n FROM jobs WHERE run_id = ? AND state IN ('pending','calling','answered')`),
      // Ready jobs, skipping customers that have a job in flight (one call per customer at a time).
      // Jobs waiting for a batch file are the batch runner's, not the direct workers'.
      ready: db.prepare(`SELECT id, customer_id FROM jobs j WHERE state IN ('pending','calling','answered') AND run_after <= @now AND NOT (trigger = 'batch' AND state = 'pending')
          AND (lease_until IS NULL OR lease_until < @now)
          AND (j.customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.customer_id = j.customer_id AND o.id <> j.id AND o.lease_until >= @now AND o.state IN ('calling','answered')))
        ORDER BY priority DESC, run_after, id LIMIT @limit`),
      // Claiming a pending job starts its call in the same statement (one commit fewer per record).
      lease: db.prepare(`UPDATE jobs SET lease_owner = @owner, lease_until = @until, updated_at = @now,
          state = ${calling} WHERE id = @id AND (lease_until IS NULL OR lease_until < @now) AND ${staysOrMovesTo(calling)} RETURNING *`),
      // Only a live lease is extended: one that ran out may already be another worker's to take.
      extend: db.prepare(`UPDATE jobs SET lease_until = @until WHERE lease_owner = @owner AND id = @id AND lease_until >= @now`),
      setCustomer: db.prepare(`UPDATE jobs SET customer_id = @customerId WHERE id = @id`),
      // A job's run ends only for the holder of its lease (or, unleased, for nobody's): a worker whose
      // lease expired and whose job another worker took since cannot settle it over that one's head.
      answered: db.prepare(`UPDATE jobs SET state = 'answered', answer_json = @answer, updated_at = @now
          WHERE id = @id AND state = @from AND lease_owner IS @leaseOwner AND ${movesTo("'answered'")}`),
      finish: db.prepare(`UPDATE jobs SET state = @state, lease_owner = NULL, lease_until = NULL, last_attempt_id = @attemptId, answer_json = coalesce(@answer, answer_json),
          last_error_code = @code, last_error = @error, last_error_fix = @fix, updated_at = @now WHERE id = @id AND state = @from AND lease_owner IS @leaseOwner AND ${movesTo('@state')}`),
      retryLater: db.prepare(`UPDATE jobs SET state = @state, attempts = attempts + 1, run_after = @runAfter, lease_owner = NULL, lease_until = NULL, answer_json = coalesce(@answer, answer_json),
          last_attempt_id = @attemptId, last_error_code = @code, last_error = @error, last_error_fix = @fix, updated_at = @now, trigger = coalesce(@trigger, trigger)
          WHERE id = @id AND state = @from AND lease_owner IS @leaseOwner AND ${movesTo('@state')}`),
      releaseOne: db.prepare(`UPDATE jobs SET lease_owner = NULL, lease_until = NULL, state = ${handBack}, updated_at = @now WHERE lease_owner = @owner AND id = @id AND state IN ('calling','answered','pending') AND ${staysOrMovesTo(handBack)}`),
      release: db.prepare(`UPDATE jobs SET lease_owner = NULL, lease_until = NULL, state = ${handBack}, updated_at = @now WHERE lease_owner = @owner AND state IN ('calling','answered','pending') AND ${staysOrMovesTo(handBack)}`),
      expiredCalling: db.prepare(`UPDATE jobs SET state = 'pending', attempts = attempts + 1, last_error = 'The worker stopped while the OpenAI call was in flight (lease expired); the call is repeated.', updated_at = @now
          WHERE state = 'calling' AND lease_until < @now AND ${movesTo("'pending'")}`),
      hold: db.prepare(`UPDATE jobs SET state = 'held', hold_kind = @kind, hold_reason = @reason, run_after = @until, lease_owner = NULL, lease_until = NULL,
          last_attempt_id = coalesce(@attemptId, last_attempt_id), updated_at = @now WHERE id = @id AND state = @from AND lease_owner IS @leaseOwner AND ${movesTo("'held'")}`),
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
      toReview: db.prepare(`UPDATE jobs SET state = 'review', answer_json = @answer, lease_owner = NULL, lease_until = NULL, updated_at = @now
          WHERE id = @id AND state = @from AND lease_owner IS @leaseOwner AND ${movesTo("'review'")}`),
      approve: db.prepare(`UPDATE jobs SET state = 'answered', reviewed_by = @by, run_after = @now, updated_at = @now
          WHERE id = @id AND state = 'review' AND ${movesTo("'answered'")} RETURNING id`),
      reviews: db.prepare(`SELECT * FROM jobs WHERE state = 'review' ORDER BY updated_at, id LIMIT @limit`),
      // One customer's, asked after every answer (stale proposals): no ORDER BY, whose sorter alone cost
      // ~30-70 µs a call with nothing to sort; the few rows are sorted in JS.
      reviewsOf: db.prepare(`SELECT * FROM jobs WHERE state = 'review' AND customer_id = ?`),
      reviewIds: db.prepare(`SELECT id FROM jobs WHERE state = 'review' ORDER BY id`),
      reviewSummary: db.prepare(`SELECT count(*) AS n, min(updated_at) AS oldest FROM jobs WHERE state = 'review'`),
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

  private enqueueNow(job: NewJob, now: number): EnqueueResult {
    const waiting = job.runId
      ? undefined
      : ((job.customerId ? this.s.waitingForCustomer.get(job.customerId) : this.s.waitingForRef.get(job.ref, job.refKind)) as Row | undefined);
    if (waiting) {
      const row = this.s.coalesce.get({ id: waiting.id, priority: job.priority ?? 0, trigger: triggerLabel(job.trigger), now }) as Row;
      return { job: toJob(row), coalesced: true };
    }
    const row = this.s.insert.get({
      customerId: job.customerId ?? null, ref: job.ref, refKind: job.refKind, trigger: triggerLabel(job.trigger),
      priority: job.priority ?? 0, maxAttempts: job.maxAttempts, runId: job.runId ?? null, eventKey: job.eventKey ?? null, now,
    }) as Row;
    return { job: toJob(row), coalesced: false };
  }

  private getNow(id: number): Job | undefined {
    const r = this.s.get.get(id) as Row | undefined;
    return r ? toJob(r) : undefined;
  }

  /** A job's attempt row, written in the caller's transaction; its templates are cached after the commit. */
  private attemptRow(a: AttemptRecord | undefined, templates: Array<{ key: string; json: string }>): StoredAttempt | null {
    if (!a) return null;
    const r = this.log.insert(a);
    templates.push(...r.templates);
    return r.stored;
  }

  async enqueue(job: NewJob, now = Date.now()): Promise<EnqueueResult> {
    return this.acknowledged(() => this.enqueueNow(job, now));
  }

  async enqueueMany(jobs: NewJob[], now = Date.now()): Promise<EnqueueResult[]> {
    return this.acknowledged(() => jobs.map((j) => this.enqueueNow(j, now)));
  }

  /** Runs inside the caller's transaction (a bulk page commits its jobs and its cursor together). */
  insertRunJobsNow(jobs: NewJob[], now: number): number {
    let added = 0;
    for (const j of jobs) {
      added += this.s.insertRun.run({
        customerId: j.customerId ?? null, ref: j.ref, refKind: j.refKind, trigger: triggerLabel(j.trigger), priority: j.priority ?? 0,
        maxAttempts: j.maxAttempts, runId: j.runId, eventKey: null, now,
      }).changes;
    }
    return added;
  }

  async insertRunJobs(jobs: NewJob[], now = Date.now()): Promise<number> {
    return this.acknowledged(() => this.insertRunJobsNow(jobs, now));
  }

  async intake(items: IntakeItem[], skipAttempt: (item: IntakeItem, why: IntakeSkip) => AttemptRecord, now = Date.now()): Promise<IntakeOutcome[]> {
    const templates: Array<{ key: string; json: string }> = [];
    // Concurrent deliveries share one commit; each resolves only once its jobs are durable.
    const out = await this.acknowledged(() =>
      items.map((item): IntakeOutcome => {
        const skip = (why: IntakeSkip) => this.attemptRow(skipAttempt(item, why), templates);
        const record = (jobId: number | null, outcome: string) =>
          this.s.putEvent.run({ eventKey: item.eventKey, deliveryId: item.deliveryId, attempt: item.attempt, scope: item.scope, customerId: item.customerId, jobId, outcome, now }).changes === 1;
        const seen = this.s.seenEvent.get(item.eventKey) as Row | undefined;
        if (seen) {
          const jobId = (seen.job_id as number | null) ?? null;
          skip({ kind: 'duplicate', jobId });
          return { kind: 'duplicate', jobId };
        }
        if (item.skipReason !== undefined || !item.job) {
          const reason = item.skipReason ?? 'Not sent to OpenAI.';
          record(null, 'skipped');
          skip({ kind: 'skipped', reason });
          return { kind: 'skipped', reason };
        }
        const { job, coalesced } = this.enqueueNow(item.job, now);
        record(job.id, coalesced ? 'coalesced' : 'enqueued');
        if (coalesced) skip({ kind: 'coalesced', jobId: job.id });
        return { kind: 'enqueued', job, coalesced };
      }),
    );
    this.log.committed(templates);
    return out;
  }

  /** The newest run whose id is `key` or `key.<n>` (a manual sync of the same customers), if any. */
  async latestRunId(key: string): Promise<string | undefined> {
    return (this.s.latestRun.get(key, `${key}.%`) as { run_id: string } | undefined)?.run_id;
  }

  /** Where each job of a run stands, in a few columns (polled while a run is followed). */
  async runStates(runId: string): Promise<Array<{ id: number; state: JobState; lastAttemptId: number | null; runAfter: number }>> {
    return (this.s.runStates.all(runId) as Row[]).map((r) => ({ id: r.id as number, state: r.state as JobState, lastAttemptId: (r.last_attempt_id as number | null) ?? null, runAfter: r.run_after as number }));
  }

  async openInRun(runId: string): Promise<number> {
    return (this.s.openInRun.get(runId) as { n: number }).n;
  }

  async get(id: number): Promise<Job | undefined> {
    return this.getNow(id);
  }

  async claim(owner: string, limit: number, leaseMs: number, now = Date.now()): Promise<Job[]> {
    return this.db.transaction(() => {
      this.s.expiredCalling.run({ now });
      const ready = this.s.ready.all({ now, limit }) as Row[];
      const claimed: Job[] = [];
      const seenCustomers = new Set<string>();
      for (const r of ready) {
        const customerId = r.customer_id as string | null;
        if (customerId && seenCustomers.has(customerId)) continue;
        const row = this.s.lease.get({ id: r.id, owner, until: now + leaseMs, now }) as Row | undefined;
        if (row) {
          if (customerId) seenCustomers.add(customerId);
          claimed.push(toJob(row));
        }
      }
      return claimed;
    }).immediate();
  }

  async extendLeases(owner: string, ids: number[], leaseMs: number, now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      for (const id of ids) this.s.extend.run({ id, owner, until: now + leaseMs, now });
    })();
  }

  async setCustomerId(jobId: number, customerId: string): Promise<void> {
    this.s.setCustomer.run({ id: jobId, customerId });
  }

  async storeAnswer(job: Job, answer: unknown, now = Date.now()): Promise<void> {
    assertTransition(job.id, job.state, 'answered');
    const params = { id: job.id, from: job.state, leaseOwner: job.leaseOwner, answer: JSON.stringify(answer), now };
    await this.group.run(() => {
      if (this.s.answered.run(params).changes !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    });
    job.state = 'answered';
    job.answer = answer;
  }

  async settle(job: Job, st: Settlement, now = Date.now()): Promise<Settled> {
    const from = job.state;
    const leaseOwner = job.leaseOwner;
    const to: JobState = st.to === 'retry' ? (from === 'answered' ? 'answered' : 'pending') : st.to;
    assertTransition(job.id, from, to);
    const templates: Array<{ key: string; json: string }> = [];
    const stored = await this.group.run(() => {
      const attempt = this.attemptRow(st.attempt, templates);
      const attemptId = attempt?.id ?? null;
      let changes: number;
      switch (st.to) {
        case 'written':
          changes = this.s.finish.run({ id: job.id, from, leaseOwner, state: to, ...outcomeParams(attemptId, {}, st.answer), now }).changes;
          if (changes === 1) this.putCustomerState(st.syncState);
          break;
        case 'skipped':
          changes = this.s.finish.run({ id: job.id, from, leaseOwner, state: to, ...outcomeParams(attemptId, { message: st.reason }, undefined), now }).changes;
          break;
        case 'failed':
          changes = this.s.finish.run({ id: job.id, from, leaseOwner, state: to, ...outcomeParams(attemptId, st.error, st.answer), now }).changes;
          break;
        case 'retry':
          changes = this.s.retryLater.run({ id: job.id, from, leaseOwner, state: to, runAfter: now + st.delayMs, ...outcomeParams(attemptId, st.error, st.answer), now, trigger: st.trigger ? triggerLabel(st.trigger) : null }).changes;
          break;
        case 'review':
          changes = this.s.toReview.run({ id: job.id, from, leaseOwner, answer: JSON.stringify(st.answer), now }).changes;
          break;
        case 'held':
          changes = this.s.hold.run({ id: job.id, from, leaseOwner, kind: st.hold.kind, reason: st.hold.reason, until: st.until, now, attemptId }).changes;
          break;
      }
      // Rolls back the attempt row with it: a job moved elsewhere meanwhile keeps no half-settled trace.
      if (changes !== 1) throw new Error(`Job ${job.id} is no longer ${from}${leaseOwner ? ` under ${leaseOwner}'s lease` : ''}.`);
      return attempt;
    });
    this.log.committed(templates);
    job.state = to;
    if (st.to === 'retry' && st.trigger) job.trigger = st.trigger;
    return { attempt: stored };
  }

  async releaseJob(owner: string, jobId: number, now = Date.now()): Promise<boolean> {
    return this.s.releaseOne.run({ owner, id: jobId, now }).changes === 1;
  }

  async releaseAll(owner: string, now = Date.now()): Promise<number> {
    return this.s.release.run({ owner, now }).changes;
  }

  async releaseHeld(kind: HoldKind, options: { onlyDue: boolean }, now = Date.now()): Promise<number> {
    return this.s.releaseHeld.run({ kind, due: options.onlyDue ? 1 : 0, now }).changes;
  }

  async pendingForBatch(runId: string, limit: number, afterId = 0, now = Date.now()): Promise<Job[]> {
    return (this.s.pendingForBatch.all(runId, now, afterId, limit) as Row[]).map(toJob);
  }

  async countForBatch(runId: string, cap: number, now = Date.now()): Promise<number> {
    return (this.s.countForBatch.get(runId, now, cap) as { n: number }).n;
  }

  /** The jobs whose lines went into an OpenAI batch; runs in the caller's transaction (with the batch's own row). */
  markBatchedNow(ids: number[], batchId: string, now: number): void {
    for (const id of ids) this.s.markBatched.run({ id, batchId, now });
  }

  async jobsInBatch(batchId: string): Promise<Job[]> {
    return (this.s.inBatch.all(batchId) as Row[]).map(toJob);
  }

  async unbatch(job: Job, to: { fallback: boolean }, error: string, now = Date.now()): Promise<void> {
    const trigger: JobTrigger = { source: 'batch', fallback: to.fallback };
    assertTransition(job.id, job.state, 'pending');
    if (this.s.unbatch.run({ id: job.id, trigger: triggerLabel(trigger), error, now }).changes !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    job.state = 'pending';
    job.trigger = trigger;
  }

  async leaseOwners(): Promise<string[]> {
    return (this.s.owners.all() as Row[]).map((r) => r.owner as string);
  }

  async releaseDeadOwner(owner: string, now = Date.now()): Promise<number> {
    return this.s.releaseDead.run({ owner, now }).changes;
  }

  async reviews(q: { customerId?: string | undefined; limit?: number } = {}): Promise<Job[]> {
    const limit = q.limit ?? 500;
    if (q.customerId === undefined) return (this.s.reviews.all({ limit }) as Row[]).map(toJob);
    const rows = this.s.reviewsOf.all(q.customerId) as Row[];
    if (rows.length > 1) rows.sort((a, b) => (a.updated_at as number) - (b.updated_at as number) || (a.id as number) - (b.id as number));
    return rows.slice(0, limit).map(toJob);
  }

  async approveReviews(ids: number[] | 'all', by: string, now = Date.now()): Promise<number[]> {
    return this.db.transaction(() => {
      const list = ids === 'all' ? (this.s.reviewIds.all() as Row[]).map((r) => r.id as number) : ids;
      const approved: number[] = [];
      for (const id of list) if (this.s.approve.get({ id, by, now })) approved.push(id);
      return approved;
    })();
  }

  async reviewSummary(): Promise<{ waiting: number; oldestSince: number | null }> {
    const r = this.s.reviewSummary.get() as Row;
    return { waiting: Number(r.n), oldestSince: r.oldest === null ? null : Number(r.oldest) };
  }

  async retryFailed(ids: number[] | 'all', now = Date.now()): Promise<number> {
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
  async retryRecords(records: Array<{ customerId: string | null; customerNumber: string | null }>, maxAttempts: number, now = Date.now()): Promise<number> {
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
          const refKind: RefKind = rec.customerNumber ? 'number' : 'id';
          this.s.insert.run({ customerId: rec.customerId, ref: rec.customerNumber ?? rec.customerId, refKind, trigger: triggerLabel({ source: 'retry' }), priority: 5, maxAttempts, runId: null, eventKey: null, now });
          n++;
        }
        for (const k of keys) open.add(k);
      }
      return n;
    })();
  }

  async list(q: { state?: JobState | undefined; runId?: string | undefined; limit?: number; offset?: number } = {}): Promise<Job[]> {
    const where: string[] = [];
    const params: Row = { limit: q.limit ?? 50, offset: q.offset ?? 0 };
    if (q.state) (where.push('state = @state'), (params.state = q.state));
    if (q.runId) (where.push('run_id = @runId'), (params.runId = q.runId));
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit OFFSET @offset`;
    return (this.db.prepare(sql).all(params) as Row[]).map(toJob);
  }

  async counts(runId?: string): Promise<Record<JobState, number>> {
    const rows = (runId ? this.s.runCounts.all(runId) : this.s.counts.all()) as Row[];
    const out = Object.fromEntries(JOB_STATES.map((st) => [st, 0])) as Record<JobState, number>;
    for (const r of rows) out[r.state as JobState] = r.n as number;
    return out;
  }

  /** Which iPaaS.com account the sync state belongs to (its base URL). */
  setAccount(account: string): void {
    this.namespace = `${account.replace(/\/+$/, '')}#`;
  }

  /** What sync-state keys start with (the account's namespace); erasure matches ids within it. */
  get stateNamespace(): string {
    return this.namespace;
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

  private putCustomerState(s: CustomerSyncState): void {
    this.s.putState.run({ ...s, customerId: this.namespace + s.customerId, written: JSON.stringify(s.written) });
  }
}
