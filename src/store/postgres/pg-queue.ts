import type pg from 'pg';
import { assertTransition, JOB_STATES, type JobState } from '../../queue/job-states.js';
import { triggerLabel, type JobTrigger } from '../../queue/trigger.js';
import { toJob } from '../job-rows.js';
import type {
  AttemptRecord, CustomerSyncState, EnqueueResult, HoldKind, IntakeItem, IntakeOutcome, IntakeSkip, Job, JobError, NewJob, QueuePort, RefKind, Settled, Settlement, StoredAttempt,
} from '../ports.js';
import { DB_NOW_MS, KEY_LOCK, LOCK, lockKeys, type PgDatabase, type Queryable, type Row } from './pg-database.js';
import type { Redaction } from '../redaction.js';
import { movesTo, staysOrMovesTo } from './pg-schema.js';
import type { PgSyncLog, Templates } from './pg-sync-log.js';


const byClaimOrder = (a: Job, b: Job) => b.priority - a.priority || a.runAfter - b.runAfter || a.id - b.id;

/** The waiting job a new one folds into: by customer when the id is known, else by reference (as SQLite). */
const coalesceKey = (j: NewJob) => (j.customerId ? `id:${j.customerId}` : `${j.refKind}:${j.ref}`);

// Every statement that changes a job's state checks the move against job_transitions (pg-schema.ts).
const CALLING = `CASE WHEN jobs.state = 'pending' THEN 'calling' ELSE jobs.state END`;
const HAND_BACK = `CASE WHEN jobs.state = 'calling' THEN 'pending' ELSE jobs.state END`;
const RETRIED = `CASE WHEN jobs.answer_json IS NOT NULL THEN 'answered' ELSE 'pending' END`;

const SQL = {
  insert: `INSERT INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, event_key, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $9, $7, $8, $9, $9) RETURNING *`,
  waitingForCustomer: `SELECT id FROM jobs WHERE customer_id = $1 AND state = 'pending' AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`,
  waitingForRef: `SELECT id FROM jobs WHERE ref = $1 AND state = 'pending' AND ref_kind = $2 AND lease_owner IS NULL AND run_id IS NULL ORDER BY id LIMIT 1`,
  // Re-checks that the job still waits: a claim that leased it meanwhile (another instance) wins, and
  // the new job is inserted instead of being folded into one whose call may already have started.
  coalesce: `UPDATE jobs SET coalesced = coalesced + 1, priority = greatest(priority, $2), trigger = $3, updated_at = $4
    WHERE id = $1 AND state = 'pending' AND lease_owner IS NULL RETURNING *`,
  insertRun: `INSERT INTO jobs (customer_id, ref, ref_kind, trigger, priority, state, attempts, max_attempts, run_after, run_id, created_at, updated_at)
    SELECT c, r, k, t, p, 'pending', 0, m, $7, run, $7, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $8::text[]) AS x(c, r, k, t, p, m, run)
    ON CONFLICT DO NOTHING`,
  expiredCalling: `UPDATE jobs SET state = 'pending', attempts = attempts + 1,
      last_error = 'The worker stopped while the OpenAI call was in flight (lease expired); the call is repeated.', updated_at = $1
    WHERE id IN (SELECT id FROM jobs WHERE state = 'calling' AND lease_until < $1 FOR UPDATE SKIP LOCKED) AND state = 'calling' AND lease_until < $1 AND ${movesTo("'pending'")}`,
  // Ready jobs (skipping customers with a job in flight; bulk jobs waiting for a batch file are the batch
  // runner's), locked so that no other transaction changes them under the claim, then at most one per
  // customer, leased. Pending ones start their call in the same statement.
  claim: `WITH ready AS (
      SELECT j.id, j.customer_id, j.priority, j.run_after FROM jobs j
      WHERE j.state IN ('pending','calling','answered') AND j.run_after <= $1 AND NOT (j.trigger = 'batch' AND j.state = 'pending')
        AND (j.lease_until IS NULL OR j.lease_until < $1)
        AND (j.customer_id IS NULL OR NOT EXISTS (SELECT 1 FROM jobs o WHERE o.customer_id = j.customer_id AND o.id <> j.id AND o.lease_until >= $1 AND o.state IN ('calling','answered')))
      ORDER BY j.priority DESC, j.run_after, j.id
      LIMIT $2
      FOR UPDATE OF j SKIP LOCKED
    ), picked AS (
      SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY customer_id, CASE WHEN customer_id IS NULL THEN id END ORDER BY priority DESC, run_after, id) AS n FROM ready
      ) r WHERE n = 1
    )
    UPDATE jobs SET lease_owner = $3, lease_until = $4, updated_at = $1, state = ${CALLING}
    FROM picked WHERE jobs.id = picked.id AND (jobs.lease_until IS NULL OR jobs.lease_until < $1) AND ${staysOrMovesTo(CALLING)}
    RETURNING jobs.*`,
  // Only a live lease is extended: one that ran out may already be another instance's to take.
  extend: `UPDATE jobs SET lease_until = $3 WHERE lease_owner = $1 AND id = ANY($2::bigint[]) AND lease_until >= $4`,
  setCustomer: `UPDATE jobs SET customer_id = $2 WHERE id = $1`,
  // A job's run ends only for the holder of its lease (or, unleased, for nobody's).
  answered: `UPDATE jobs SET state = 'answered', answer_json = $3, updated_at = coalesce($4::bigint, ${DB_NOW_MS}) WHERE id = $1 AND state = $2 AND lease_owner IS NOT DISTINCT FROM $5 AND ${movesTo("'answered'")}`,
  finish: `UPDATE jobs SET state = $3, lease_owner = NULL, lease_until = NULL, last_attempt_id = $4, answer_json = coalesce($8, answer_json),
      last_error_code = $5, last_error = $6, last_error_fix = $7, updated_at = $9
    WHERE id = $1 AND state = $2 AND lease_owner IS NOT DISTINCT FROM $10 AND ${movesTo('$3::text')}`,
  retryLater: `UPDATE jobs SET state = $3, attempts = attempts + 1, run_after = $10, lease_owner = NULL, lease_until = NULL, answer_json = coalesce($8, answer_json),
      last_attempt_id = $4, last_error_code = $5, last_error = $6, last_error_fix = $7, updated_at = $9, trigger = coalesce($12, trigger)
    WHERE id = $1 AND state = $2 AND lease_owner IS NOT DISTINCT FROM $11 AND ${movesTo('$3::text')}`,
  hold: `UPDATE jobs SET state = 'held', hold_kind = $3, hold_reason = $4, run_after = $5, lease_owner = NULL, lease_until = NULL,
      last_attempt_id = coalesce($6, last_attempt_id), updated_at = $7
    WHERE id = $1 AND state = $2 AND lease_owner IS NOT DISTINCT FROM $8 AND ${movesTo("'held'")}`,
  release: `UPDATE jobs SET lease_owner = NULL, lease_until = NULL, state = ${HAND_BACK}, updated_at = $2
    WHERE lease_owner = $1 AND state IN ('calling','answered','pending') AND ${staysOrMovesTo(HAND_BACK)}`,
  releaseOne: `UPDATE jobs SET lease_owner = NULL, lease_until = NULL, state = ${HAND_BACK}, updated_at = $3
    WHERE lease_owner = $1 AND id = $2 AND state IN ('calling','answered','pending') AND ${staysOrMovesTo(HAND_BACK)}`,
  releaseHeld: `UPDATE jobs SET state = 'pending', hold_kind = NULL, hold_reason = NULL, run_after = $3, updated_at = $3
    WHERE state = 'held' AND hold_kind = $1 AND (NOT $2::boolean OR run_after <= $3) AND ${movesTo("'pending'")}`,
  pendingForBatch: `SELECT * FROM jobs WHERE run_id = $1 AND trigger = 'batch' AND state = 'pending' AND run_after <= $2 AND id > $3 ORDER BY id LIMIT $4`,
  countForBatch: `SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE run_id = $1 AND trigger = 'batch' AND state = 'pending' AND run_after <= $2 LIMIT $3) s`,
  markBatched: `UPDATE jobs SET state = 'batched', batch_id = $2, updated_at = $3 WHERE id = ANY($1::bigint[]) AND state = 'pending' AND ${movesTo("'batched'")}`,
  inBatch: `SELECT * FROM jobs WHERE batch_id = $1 AND state = 'batched' ORDER BY id`,
  unbatch: `UPDATE jobs SET state = 'pending', trigger = $2, batch_id = NULL, attempts = attempts + 1, run_after = $4, last_error = $3, updated_at = $4
    WHERE id = $1 AND state = 'batched' AND ${movesTo("'pending'")}`,
  owners: `SELECT DISTINCT lease_owner AS owner FROM jobs WHERE lease_owner IS NOT NULL ORDER BY 1`,
  releaseDead: `UPDATE jobs SET lease_owner = NULL, lease_until = NULL,
      attempts = attempts + CASE WHEN state = 'calling' THEN 1 ELSE 0 END,
      state = ${HAND_BACK},
      last_error = CASE WHEN state = 'calling' THEN 'The worker died while the OpenAI call was in flight; the call is repeated.' ELSE last_error END,
      updated_at = $2
    WHERE lease_owner = $1 AND ${staysOrMovesTo(HAND_BACK)}`,
  retryFailed: `UPDATE jobs SET state = ${RETRIED}, attempts = 0, run_after = $2, hold_kind = NULL, hold_reason = NULL,
      lease_owner = NULL, lease_until = NULL, trigger = CASE WHEN trigger LIKE 'retry%' THEN trigger ELSE 'retry' END, updated_at = $2
    WHERE ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) AND (state = 'failed' OR (state = 'held' AND hold_kind = 'quota')) AND ${movesTo(RETRIED)}`,
  openJobKeys: `SELECT customer_id, ref, ref_kind FROM jobs WHERE state IN ('pending','calling','answered','batched') OR (state = 'held' AND hold_kind IS DISTINCT FROM 'quota')`,
  failedJobKeys: `SELECT id, customer_id, ref, ref_kind FROM jobs WHERE state = 'failed' OR (state = 'held' AND hold_kind = 'quota') ORDER BY id DESC`,
  toReview: `UPDATE jobs SET state = 'review', answer_json = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4
    WHERE id = $1 AND state = $2 AND lease_owner IS NOT DISTINCT FROM $5 AND ${movesTo("'review'")}`,
  approve: `UPDATE jobs SET state = 'answered', reviewed_by = $2, run_after = $3, updated_at = $3
    WHERE state = 'review' AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) AND ${movesTo("'answered'")} RETURNING id`,
  reviews: `SELECT * FROM jobs WHERE state = 'review' AND ($1::text IS NULL OR customer_id = $1) ORDER BY updated_at, id LIMIT $2`,
  reviewSummary: `SELECT count(*)::int AS n, min(updated_at) AS oldest FROM jobs WHERE state = 'review'`,
  getState: `SELECT * FROM customer_state WHERE customer_id = $1`,
  putState: `INSERT INTO customer_state (customer_id, customer_number, input_fingerprint, written_json, last_response_id, last_written_at)
      VALUES ($1, $2, $3, $4, $5, $6)
      ON CONFLICT (customer_id) DO UPDATE SET customer_number = excluded.customer_number, input_fingerprint = excluded.input_fingerprint,
        written_json = excluded.written_json, last_response_id = excluded.last_response_id, last_written_at = excluded.last_written_at`,
  // The event is recorded first: of two instances taking in one delivery at once, the second waits here
  // for the first to commit and then inserts nothing, so it enqueues nothing either.
  putEvent: `INSERT INTO webhook_events (event_key, delivery_id, attempt, scope, customer_id, received_at, job_id, outcome)
      VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) ON CONFLICT (event_key) DO NOTHING RETURNING event_key`,
  seenEvent: `SELECT job_id FROM webhook_events WHERE event_key = $1`,
  eventJob: `UPDATE webhook_events SET job_id = $2, outcome = $3 WHERE event_key = $1`,
};

/**
 * The durable queue in PostgreSQL, shared by several instances.
 *
 * - Claims are serialised across instances by a transaction-scoped advisory lock (LOCK.claim): the
 *   per-customer check ("no other job of this customer is in flight") reads a snapshot taken after the
 *   previous claim committed, so two claims can never lease two jobs of one customer. Only claims grant
 *   leases, so that check covers every way a job gets in flight. Claims are batched (up to `limit`
 *   jobs per transaction), so the serialisation is cheap.
 * - Rows are locked FOR UPDATE SKIP LOCKED: a claim never waits for (or leases) a row another
 *   transaction is changing, and every lease is a state-checked UPDATE.
 * - Enqueues of one customer serialise on a per-customer advisory lock, so concurrent deliveries
 *   coalesce instead of inserting twice; the coalescing UPDATE re-checks that the job still waits.
 * - With no `now`, times are the database's clock.
 */
export class PgQueue implements QueuePort {
  /** Customer ids are only unique within one iPaaS.com account: the sync state is kept per account. */
  private namespace = '';

  constructor(
    private readonly db: PgDatabase,
    private readonly log: PgSyncLog,
    private readonly r: Redaction,
  ) {}

  setAccount(account: string): void {
    this.namespace = `${account.replace(/\/+$/, '')}#`;
  }

  /** What sync-state keys start with (the account's namespace); erasure matches ids within it. */
  get stateNamespace(): string {
    return this.namespace;
  }

  private async enqueueOn(c: Queryable, job: NewJob, now: number): Promise<EnqueueResult> {
    if (!job.runId) {
      const waiting = job.customerId
        ? (await c.query(SQL.waitingForCustomer, [job.customerId])).rows[0]
        : (await c.query(SQL.waitingForRef, [job.ref, job.refKind])).rows[0];
      if (waiting) {
        const row = (await c.query(SQL.coalesce, [waiting.id, job.priority ?? 0, triggerLabel(job.trigger), now])).rows[0];
        if (row) return { job: toJob(row), coalesced: true };
      }
    }
    const row = (
      await c.query(SQL.insert, [job.customerId ?? null, job.ref, job.refKind, triggerLabel(job.trigger), job.priority ?? 0, job.maxAttempts, job.runId ?? null, job.eventKey ?? null, now])
    ).rows[0];
    return { job: toJob(row), coalesced: false };
  }

  private customerLocks(jobs: Array<NewJob | undefined>): Array<{ ns: number; key: string }> {
    return jobs.filter((j): j is NewJob => !!j && !j.runId).map((j) => ({ ns: KEY_LOCK.customer, key: coalesceKey(j) }));
  }

  async enqueue(job: NewJob, now?: number): Promise<EnqueueResult> {
    return (await this.enqueueMany([job], now))[0]!;
  }

  async enqueueMany(jobs: NewJob[], now?: number): Promise<EnqueueResult[]> {
    if (jobs.length === 0) return [];
    return this.db.tx(
      async (c, t) => {
        await lockKeys(c, this.customerLocks(jobs));
        const out: EnqueueResult[] = [];
        for (const j of jobs) out.push(await this.enqueueOn(c, j, t));
        return out;
      },
      { now },
    );
  }

  /** On `c` (a bulk page commits its jobs and its cursor together). A job already in its run is not added. */
  async insertRunJobsOn(c: Queryable, jobs: NewJob[], now: number): Promise<number> {
    if (jobs.length === 0) return 0;
    const col = <T>(f: (j: NewJob) => T) => jobs.map(f);
    const res = await c.query(SQL.insertRun, [
      col((j) => j.customerId ?? null), col((j) => j.ref), col((j) => j.refKind), col((j) => triggerLabel(j.trigger)),
      col((j) => j.priority ?? 0), col((j) => j.maxAttempts), now, col((j) => j.runId ?? null),
    ]);
    return res.rowCount ?? 0;
  }

  async insertRunJobs(jobs: NewJob[], now?: number): Promise<number> {
    if (jobs.length === 0) return 0;
    return this.db.tx((c, t) => this.insertRunJobsOn(c, jobs, t), { now });
  }

  async intake(items: IntakeItem[], skipAttempt: (item: IntakeItem, why: IntakeSkip) => AttemptRecord, now?: number): Promise<IntakeOutcome[]> {
    if (items.length === 0) return [];
    const templates: Templates = [];
    const out = await this.db.tx(
      async (c, t) => {
        templates.length = 0; // a retried transaction starts over
        // Every lock this commit needs, in one global order: no two intakes (or enqueues) deadlock.
        await lockKeys(c, [...this.customerLocks(items.map((i) => (i.skipReason === undefined ? i.job : undefined))), ...items.map((i) => ({ ns: KEY_LOCK.event, key: i.eventKey }))]);
        const results: IntakeOutcome[] = [];
        for (const item of items) {
          const skip = async (why: IntakeSkip) => {
            const r = await this.log.insert(c, skipAttempt(item, why));
            templates.push(...r.templates);
          };
          const outcome = item.job && item.skipReason === undefined ? 'enqueued' : 'skipped';
          const fresh = (await c.query(SQL.putEvent, [item.eventKey, item.deliveryId, item.attempt, item.scope, item.customerId, t, outcome])).rowCount === 1;
          if (!fresh) {
            const jobId = ((await c.query(SQL.seenEvent, [item.eventKey])).rows[0]?.job_id as number | null | undefined) ?? null;
            await skip({ kind: 'duplicate', jobId });
            results.push({ kind: 'duplicate', jobId });
            continue;
          }
          if (outcome === 'skipped' || !item.job) {
            const reason = item.skipReason ?? 'Not sent to OpenAI.';
            await skip({ kind: 'skipped', reason });
            results.push({ kind: 'skipped', reason });
            continue;
          }
          const { job, coalesced } = await this.enqueueOn(c, item.job, t);
          await c.query(SQL.eventJob, [item.eventKey, job.id, coalesced ? 'coalesced' : 'enqueued']);
          if (coalesced) await skip({ kind: 'coalesced', jobId: job.id });
          results.push({ kind: 'enqueued', job, coalesced });
        }
        return results;
      },
      { now },
    );
    this.log.committed(templates);
    return out;
  }

  async get(id: number): Promise<Job | undefined> {
    const r = (await this.db.query('SELECT * FROM jobs WHERE id = $1', [id])).rows[0];
    return r ? toJob(r) : undefined;
  }

  async list(q: { state?: JobState | undefined; runId?: string | undefined; limit?: number; offset?: number } = {}): Promise<Job[]> {
    const where: string[] = [];
    const values: unknown[] = [q.limit ?? 50, q.offset ?? 0];
    if (q.state) where.push(`state = $${values.push(q.state)}`);
    if (q.runId) where.push(`run_id = $${values.push(q.runId)}`);
    const rows = (await this.db.query(`SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1 OFFSET $2`, values)).rows;
    return rows.map(toJob);
  }

  async counts(runId?: string): Promise<Record<JobState, number>> {
    const rows = (runId
      ? await this.db.query('SELECT state, count(*) AS n FROM jobs WHERE run_id = $1 GROUP BY state', [runId])
      : await this.db.query('SELECT state, count(*) AS n FROM jobs GROUP BY state')
    ).rows;
    const out = Object.fromEntries(JOB_STATES.map((st) => [st, 0])) as Record<JobState, number>;
    for (const r of rows) out[r.state as JobState] = r.n as number;
    return out;
  }

  /** The newest run whose id is `key` or `key.<suffix>`; the key is matched as text (no LIKE wildcards). */
  async latestRunId(key: string): Promise<string | undefined> {
    const r = (await this.db.query('SELECT run_id FROM jobs WHERE run_id = $1 OR starts_with(run_id, $2) ORDER BY id DESC LIMIT 1', [key, `${key}.`])).rows[0];
    return r?.run_id as string | undefined;
  }

  async runStates(runId: string): Promise<Array<{ id: number; state: JobState; lastAttemptId: number | null; runAfter: number }>> {
    const rows = (await this.db.query('SELECT id, state, last_attempt_id, run_after FROM jobs WHERE run_id = $1 ORDER BY id', [runId])).rows;
    return rows.map((r) => ({ id: r.id as number, state: r.state as JobState, lastAttemptId: (r.last_attempt_id as number | null) ?? null, runAfter: r.run_after as number }));
  }

  async openInRun(runId: string): Promise<number> {
    return (await this.db.query(`SELECT count(*) AS n FROM jobs WHERE run_id = $1 AND state IN ('pending','calling','answered')`, [runId])).rows[0].n as number;
  }

  async claim(owner: string, limit: number, leaseMs: number, now?: number): Promise<Job[]> {
    if (limit <= 0) return [];
    return this.db.tx(
      async (c, t) => {
        await c.query(SQL.expiredCalling, [t]);
        const rows = (await c.query(SQL.claim, [t, limit, owner, t + leaseMs])).rows;
        return rows.map(toJob).sort(byClaimOrder);
      },
      { now, lock: LOCK.claim },
    );
  }

  async extendLeases(owner: string, ids: number[], leaseMs: number, now?: number): Promise<void> {
    if (ids.length === 0) return;
    const t = await this.db.clock(now);
    await this.db.query(SQL.extend, [owner, ids, t + leaseMs, t]);
  }

  async setCustomerId(jobId: number, customerId: string): Promise<void> {
    await this.db.query(SQL.setCustomer, [jobId, customerId]);
  }

  async storeAnswer(job: Job, answer: unknown, now?: number): Promise<void> {
    assertTransition(job.id, job.state, 'answered');
    const res = await this.db.query(SQL.answered, [job.id, job.state, this.r.doc(answer), now ?? null, job.leaseOwner]);
    if (res.rowCount !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    job.state = 'answered';
    job.answer = answer;
  }

  async settle(job: Job, st: Settlement, now?: number): Promise<Settled> {
    const from = job.state;
    const to: JobState = st.to === 'retry' ? (from === 'answered' ? 'answered' : 'pending') : st.to;
    assertTransition(job.id, from, to);
    const templates: Templates = [];
    const stored = await this.db.tx(
      async (c, t) => {
        templates.length = 0;
        let attempt: StoredAttempt | null = null;
        if (st.attempt) {
          const r = await this.log.insert(c, st.attempt);
          templates.push(...r.templates);
          attempt = r.stored;
        }
        const attemptId = attempt?.id ?? null;
        const err = (e: Partial<JobError>) => [e.code ?? null, this.r.text(e.message), this.r.text(e.fix)];
        let res: pg.QueryResult;
        switch (st.to) {
          case 'written':
            res = await c.query(SQL.finish, [job.id, from, to, attemptId, ...err({}), this.r.doc(st.answer), t, job.leaseOwner]);
            if (res.rowCount === 1) await this.putCustomerState(c, st.syncState);
            break;
          case 'skipped':
            res = await c.query(SQL.finish, [job.id, from, to, attemptId, ...err({ message: st.reason }), null, t, job.leaseOwner]);
            break;
          case 'failed':
            res = await c.query(SQL.finish, [job.id, from, to, attemptId, ...err(st.error), this.r.doc(st.answer), t, job.leaseOwner]);
            break;
          case 'retry':
            res = await c.query(SQL.retryLater, [job.id, from, to, attemptId, ...err(st.error), this.r.doc(st.answer), t, t + st.delayMs, job.leaseOwner, st.trigger ? triggerLabel(st.trigger) : null]);
            break;
          case 'review':
            res = await c.query(SQL.toReview, [job.id, from, this.r.doc(st.answer), t, job.leaseOwner]);
            break;
          case 'held':
            res = await c.query(SQL.hold, [job.id, from, st.hold.kind, this.r.text(st.hold.reason), st.until, attemptId, t, job.leaseOwner]);
            break;
        }
        // Rolls back the attempt row with it: a job moved elsewhere meanwhile keeps no half-settled trace.
        if (res.rowCount !== 1) throw new Error(`Job ${job.id} is no longer ${from}.`);
        return attempt;
      },
      { now },
    );
    this.log.committed(templates);
    job.state = to;
    if (st.to === 'retry' && st.trigger) job.trigger = st.trigger;
    return { attempt: stored };
  }

  async releaseJob(owner: string, jobId: number, now?: number): Promise<boolean> {
    const t = await this.db.clock(now);
    return ((await this.db.query(SQL.releaseOne, [owner, jobId, t])).rowCount ?? 0) === 1;
  }

  async releaseAll(owner: string, now?: number): Promise<number> {
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.release, [owner, t])).rowCount ?? 0;
  }

  async releaseHeld(kind: HoldKind, options: { onlyDue: boolean }, now?: number): Promise<number> {
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.releaseHeld, [kind, options.onlyDue, t])).rowCount ?? 0;
  }

  async leaseOwners(): Promise<string[]> {
    return (await this.db.query(SQL.owners)).rows.map((r) => r.owner as string);
  }

  async releaseDeadOwner(owner: string, now?: number): Promise<number> {
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.releaseDead, [owner, t])).rowCount ?? 0;
  }

  async reviews(q: { customerId?: string | undefined; limit?: number } = {}): Promise<Job[]> {
    return (await this.db.query(SQL.reviews, [q.customerId ?? null, q.limit ?? 500])).rows.map(toJob);
  }

  async approveReviews(ids: number[] | 'all', by: string, now?: number): Promise<number[]> {
    if (ids !== 'all' && ids.length === 0) return [];
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.approve, [ids === 'all' ? null : ids, by, t])).rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  }

  async reviewSummary(): Promise<{ waiting: number; oldestSince: number | null }> {
    const r = (await this.db.query(SQL.reviewSummary)).rows[0];
    return { waiting: Number(r.n), oldestSince: r.oldest === null ? null : Number(r.oldest) };
  }

  async retryFailed(ids: number[] | 'all', now?: number): Promise<number> {
    if (ids !== 'all' && ids.length === 0) return 0;
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.retryFailed, [ids === 'all' ? null : ids, t])).rowCount ?? 0;
  }

  /**
   * Queues each of these records once: its newest failed job goes back (a stored answer is reused), or
   * a new job when it has none; a record with a job already open is left to that job. The records'
   * customer locks are held, so a webhook for one of them coalesces into the retry instead of racing it.
   */
  async retryRecords(records: Array<{ customerId: string | null; customerNumber: string | null }>, maxAttempts: number, now?: number): Promise<number> {
    const keysOfRecord = (rec: { customerId: string | null; customerNumber: string | null }) =>
      [rec.customerId ? `id:${rec.customerId}` : undefined, rec.customerNumber ? `number:${rec.customerNumber}` : undefined].filter((k): k is string => !!k);
    return this.db.tx(
      async (c, t) => {
        await lockKeys(c, records.flatMap(keysOfRecord).map((key) => ({ ns: KEY_LOCK.customer, key })));
        const keysOf = (r: Row) => [r.customer_id ? `id:${String(r.customer_id)}` : undefined, `${String(r.ref_kind)}:${String(r.ref)}`].filter((k): k is string => !!k);
        const open = new Set<string>();
        for (const r of (await c.query(SQL.openJobKeys)).rows) for (const k of keysOf(r)) open.add(k);
        const newestFailed = new Map<string, number>();
        for (const r of (await c.query(SQL.failedJobKeys)).rows) for (const k of keysOf(r)) if (!newestFailed.has(k)) newestFailed.set(k, r.id as number);
        let n = 0;
        for (const rec of records) {
          const keys = keysOfRecord(rec);
          if (keys.length === 0 || keys.some((k) => open.has(k))) continue;
          const jobId = keys.map((k) => newestFailed.get(k)).find((id) => id !== undefined);
          if (jobId !== undefined) n += (await c.query(SQL.retryFailed, [[jobId], t])).rowCount ?? 0;
          else {
            const refKind: RefKind = rec.customerNumber ? 'number' : 'id';
            await c.query(SQL.insert, [rec.customerId, rec.customerNumber ?? rec.customerId, refKind, triggerLabel({ source: 'retry' }), 5, maxAttempts, null, null, t]);
            n++;
          }
          for (const k of keys) open.add(k);
        }
        return n;
      },
      { now },
    );
  }

  async pendingForBatch(runId: string, limit: number, afterId = 0, now?: number): Promise<Job[]> {
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.pendingForBatch, [runId, t, afterId, limit])).rows.map(toJob);
  }

  async countForBatch(runId: string, cap: number, now?: number): Promise<number> {
    const t = await this.db.clock(now);
    return (await this.db.query(SQL.countForBatch, [runId, t, cap])).rows[0].n as number;
  }

  /** On `c` (the batch's own row commits with it). */
  async markBatchedOn(c: Queryable, ids: number[], batchId: string, now: number): Promise<number> {
    if (ids.length === 0) return 0;
    return (await c.query(SQL.markBatched, [ids, batchId, now])).rowCount ?? 0;
  }

  async jobsInBatch(batchId: string): Promise<Job[]> {
    return (await this.db.query(SQL.inBatch, [batchId])).rows.map(toJob);
  }

  async unbatch(job: Job, to: { fallback: boolean }, error: string, now?: number): Promise<void> {
    const trigger: JobTrigger = { source: 'batch', fallback: to.fallback };
    assertTransition(job.id, job.state, 'pending');
    const t = await this.db.clock(now);
    const res = await this.db.query(SQL.unbatch, [job.id, triggerLabel(trigger), this.r.text(error), t]);
    if (res.rowCount !== 1) throw new Error(`Job ${job.id} is no longer ${job.state}.`);
    job.state = 'pending';
    job.trigger = trigger;
  }

  async customerState(customerId: string): Promise<CustomerSyncState | undefined> {
    const r = (await this.db.query(SQL.getState, [this.namespace + customerId])).rows[0];
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

  private async putCustomerState(c: Queryable, s: CustomerSyncState): Promise<void> {
    await c.query(SQL.putState, [this.namespace + s.customerId, s.customerNumber, s.inputFingerprint, this.r.doc(s.written), s.lastResponseId, s.lastWrittenAt]);
  }
}
