/**
 * The queue's contract, written once against the job store's interface and run on every adapter
 * (SQLite and PostgreSQL): claim exclusivity, one OpenAI call per customer at a time,
 * coalescing, webhook dedupe, lease expiry and recovery, and every allowed and forbidden state move.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canTransition, JOB_STATES, type JobState } from '../queue/job-states.js';
import { newAttempt } from '../queue/attempt.js';
import type { AttemptRecord, CustomerSyncState, IntakeItem, IntakeSkip, Job, NewJob, QueuePort, RunsPort, SyncLogPort } from './ports.js';

export interface QueueFixture {
  jobs: QueuePort;
  /** A second connection to the same database (another process, as far as the queue knows). */
  other: QueuePort;
  /** The runs port on the first connection (a batch submission marks its jobs batched). */
  runs: RunsPort;
  /** The sync log on the first connection (a settlement writes its attempt row). */
  log: SyncLogPort;
  /** Test set-up only: puts a job straight into a state (what earlier steps would have done). */
  forceState(id: number, state: JobState, fields?: { holdReason?: string; answer?: unknown }): Promise<void> | void;
  close(): Promise<void>;
}

/**
 * The state machine the queue promises, spelled out here on its own so that the suite checks the
 * implementation against the spec and not against itself (queue/job-states.ts must agree with it).
 */
const SPEC: Record<JobState, readonly JobState[]> = {
  pending: ['calling', 'batched', 'skipped', 'failed', 'held', 'pending'],
  calling: ['answered', 'skipped', 'failed', 'pending', 'held', 'batched'],
  batched: ['answered', 'pending', 'failed', 'skipped'],
  answered: ['written', 'failed', 'answered', 'review'],
  review: ['answered', 'skipped'],
  written: [],
  skipped: [],
  failed: ['pending', 'answered'],
  held: ['pending'],
};
const allowed = (from: JobState, to: JobState) => SPEC[from].includes(to);

const job = (ref: string, extra: Partial<NewJob> = {}): NewJob => ({ ref, refKind: 'number', customerId: null, trigger: { source: 'manual' }, maxAttempts: 6, ...extra });
const T = 1_800_000_000_000;
const iso = new Date(T).toISOString();
const row = (ref: string, customerId: string | null, jobId: number | null, outcome: AttemptRecord['outcome']): AttemptRecord => ({
  ...newAttempt(customerId ? { id: customerId } : { customerNumber: ref }, { source: 'manual' }, iso, jobId ?? undefined),
  outcome,
});
const attempt = (j: Job) => row(j.ref, j.customerId, j.id, 'synced');
const skipRow = (item: IntakeItem, why: IntakeSkip): AttemptRecord => ({ ...row(item.customerId, item.customerId, null, 'skipped'), errorMessage: why.kind });
const syncState = (customerId: string): CustomerSyncState => ({ customerId, customerNumber: null, inputFingerprint: 'fp', written: {}, lastResponseId: null, lastWrittenAt: T });

export function queueContract(adapter: string, open: () => Promise<QueueFixture>): void {
  describe(`queue contract on ${adapter}`, () => {
    let f: QueueFixture;
    beforeEach(async () => {
      f = await open();
    });
    afterEach(async () => f.close());

    it('the state machine in code is the one this contract specifies', () => {
      for (const from of JOB_STATES) for (const to of JOB_STATES) expect(canTransition(from, to), `${from} -> ${to}`).toBe(allowed(from, to));
    });

    it('a job is claimed by one owner only, across connections', async () => {
      for (let i = 0; i < 20; i++) await f.jobs.enqueue(job(`C-${i}`, { customerId: String(i) }), T);
      const seen = new Map<number, string>();
      for (let round = 0; round < 8; round++) {
        for (const [owner, q] of [['a', f.jobs], ['b', f.other]] as const) {
          for (const j of await q.claim(owner, 3, 60_000, T)) {
            expect(seen.has(j.id), `job ${j.id} claimed by ${seen.get(j.id)} and ${owner}`).toBe(false);
            seen.set(j.id, owner);
          }
        }
      }
      expect(seen.size).toBe(20);
      expect(new Set(seen.values())).toEqual(new Set(['a', 'b']));
    });

    it('one OpenAI call per customer at a time: a second job of a customer waits while the first is in flight', async () => {
      const first = (await f.jobs.enqueue(job('CUST-1', { customerId: '1' }), T)).job;
      // A bulk run's job is not folded into a waiting one: two jobs of the same customer.
      expect(await f.jobs.insertRunJobs([job('CUST-1', { customerId: '1', runId: 'run-1', trigger: { source: 'bulk' } })], T)).toBe(1);
      const claimed = await f.jobs.claim('a', 10, 60_000, T);
      expect(claimed.map((j) => j.id)).toEqual([first.id]);
      expect(await f.other.claim('b', 10, 60_000, T + 1)).toEqual([]);
      await f.jobs.storeAnswer(claimed[0]!, { answer: {} }, T + 2);
      expect(await f.other.claim('b', 10, 60_000, T + 3)).toEqual([]); // answered, its write still to do
      await f.jobs.settle(claimed[0]!, { to: 'written', attempt: attempt(claimed[0]!), answer: {}, syncState: syncState('1') }, T + 4);
      const next = await f.other.claim('b', 10, 60_000, T + 5);
      expect(next).toHaveLength(1);
      expect(next[0]!.runId).toBe('run-1');
    });

    it('events for a waiting customer coalesce into its job; a job already in flight is not joined', async () => {
      const a = await f.jobs.enqueue(job('CUST-2', { customerId: '2', trigger: { source: 'webhook', event: 'updated' } }), T);
      const b = await f.other.enqueue(job('CUST-2', { customerId: '2', trigger: { source: 'webhook', event: 'updated' }, priority: 5 }), T + 1);
      expect(a.coalesced).toBe(false);
      expect(b).toMatchObject({ coalesced: true, job: { id: a.job.id, coalesced: 1, priority: 5 } });
      await f.jobs.claim('a', 1, 60_000, T + 2);
      const c = await f.jobs.enqueue(job('CUST-2', { customerId: '2', trigger: { source: 'webhook', event: 'updated' } }), T + 3);
      expect(c.coalesced).toBe(false);
      expect(c.job.id).not.toBe(a.job.id);
    });

    it('a webhook event is taken in once: the second delivery of the same event is recognised', async () => {
      const item = { eventKey: 'tg:abc', deliveryId: '9', attempt: 1, scope: 'customer/updated', customerId: '7', job: job('7', { refKind: 'id', customerId: '7', trigger: { source: 'webhook', event: 'updated' } }) };
      const [first] = await f.jobs.intake([item], skipRow, T);
      expect(first).toMatchObject({ kind: 'enqueued', coalesced: false });
      const jobId = first!.kind === 'enqueued' ? first!.job.id : -1;
      expect(await f.other.intake([{ ...item, attempt: 2 }], skipRow, T + 1)).toEqual([{ kind: 'duplicate', jobId }]);
      expect((await f.other.counts()).pending).toBe(1);
      // A notification the intake already skipped is remembered too.
      const skipped = { ...item, eventKey: 'tg:def', job: undefined, skipReason: 'Customer deletions are not sent to OpenAI.' };
      expect(await f.jobs.intake([skipped], skipRow, T + 2)).toEqual([{ kind: 'skipped', reason: skipped.skipReason }]);
      expect(await f.other.intake([skipped], skipRow, T + 3)).toEqual([{ kind: 'duplicate', jobId: null }]);
    });

    it('a settlement commits the attempt row with the move, or neither', async () => {
      const { job: j } = await f.jobs.enqueue(job('CUST-9', { customerId: '9' }), T);
      const [claimed] = await f.jobs.claim('a', 1, 60_000, T);
      const stale = { ...claimed! };
      const done = await f.jobs.settle(claimed!, { to: 'failed', attempt: attempt(claimed!), error: { code: 'x', message: 'boom', fix: null } }, T + 1);
      expect(done.attempt?.id).toBeGreaterThan(0);
      expect(await f.other.get(j.id)).toMatchObject({ state: 'failed', lastAttemptId: done.attempt!.id, lastError: 'boom' });
      // The same job settled again from its old state: refused, and no second attempt row.
      await expect(f.other.settle(stale, { to: 'failed', attempt: attempt(stale), error: { code: 'y', message: 'again', fix: null } }, T + 2)).rejects.toThrow(/no longer calling/);
      expect((await f.other.get(j.id))!.lastAttemptId).toBe(done.attempt!.id);
      expect((await f.log.list()).map((a) => a.id)).toEqual([done.attempt!.id]);
    });

    it('a worker whose lease ran out cannot settle, answer or extend a job another worker has taken since', async () => {
      const { job: j } = await f.jobs.enqueue(job('CUST-7', { customerId: '7' }), T);
      const [late] = await f.jobs.claim('slow', 1, 1_000, T);
      await f.jobs.extendLeases('slow', [j.id], 1_000, T + 1_500); // already expired: not revived
      const [taken] = await f.other.claim('fast', 1, 60_000, T + 2_000);
      expect(taken).toMatchObject({ id: j.id, state: 'calling', leaseOwner: 'fast' });
      await expect(f.jobs.storeAnswer(late!, { answer: {} }, T + 2_001)).rejects.toThrow(/no longer/);
      await expect(f.jobs.settle(late!, { to: 'failed', attempt: attempt(late!), error: { code: null, message: 'late', fix: null } }, T + 2_002)).rejects.toThrow(/no longer/);
      expect(await f.other.get(j.id)).toMatchObject({ state: 'calling', leaseOwner: 'fast' });
      await f.other.storeAnswer(taken!, { answer: { Comment: 'fast' } }, T + 2_003);
      await f.other.settle(taken!, { to: 'written', attempt: attempt(taken!), answer: {}, syncState: syncState('7') }, T + 2_004);
      expect((await f.jobs.get(j.id))!.state).toBe('written');
    });

    it('a retryable failure counts a try and waits; an answered job keeps its answer', async () => {
      const { job: j } = await f.jobs.enqueue(job('CUST-8', { customerId: '8' }), T);
      const [claimed] = await f.jobs.claim('a', 1, 60_000, T);
      await f.jobs.settle(claimed!, { to: 'retry', error: { code: 'rate', message: 'later', fix: null }, delayMs: 5_000 }, T + 1);
      expect(await f.other.get(j.id)).toMatchObject({ state: 'pending', attempts: 1, runAfter: T + 5_001 });
      expect(await f.other.claim('b', 1, 60_000, T + 5_000)).toEqual([]);
      const [again] = await f.other.claim('b', 1, 60_000, T + 5_001);
      await f.other.storeAnswer(again!, { answer: { Comment: 'kept' } }, T + 5_002);
      await f.other.settle(again!, { to: 'retry', error: { code: 'ipaas', message: 'write failed', fix: null }, delayMs: 0 }, T + 5_003);
      expect(await f.jobs.get(j.id)).toMatchObject({ state: 'answered', attempts: 2, answer: { answer: { Comment: 'kept' } } });
    });

    it('an expired lease makes the job claimable again, and the lost call counts as a try', async () => {
      const { job: j } = await f.jobs.enqueue(job('CUST-3', { customerId: '3' }), T);
      expect(await f.jobs.claim('a', 1, 1_000, T)).toHaveLength(1);
      expect(await f.other.claim('b', 1, 1_000, T + 999)).toEqual([]);
      const again = await f.other.claim('b', 1, 1_000, T + 1_001);
      expect(again).toMatchObject([{ id: j.id, state: 'calling', leaseOwner: 'b', attempts: 1 }]);
    });

    it('a dead owner\'s jobs are recovered at once; handing back keeps a stored answer', async () => {
      const one = (await f.jobs.enqueue(job('CUST-4', { customerId: '4' }), T)).job;
      const two = (await f.jobs.enqueue(job('CUST-5', { customerId: '5' }), T)).job;
      const [c1, c2] = await f.jobs.claim('dead', 2, 600_000, T);
      await f.jobs.storeAnswer(c2!.id === two.id ? c2! : c1!, { answer: { Comment: 'x' } }, T);
      expect(await f.other.releaseDeadOwner('dead', T + 1)).toBe(2);
      expect((await f.other.get(one.id))!.state).toBe('pending');
      expect((await f.other.get(two.id))!.state).toBe('answered');
      expect((await f.other.claim('b', 5, 60_000, T + 2)).map((j) => j.id).sort()).toEqual([one.id, two.id].sort());
      expect(await f.other.releaseAll('b', T + 3)).toBe(2);
    });

    it('review: an answer waits unleased, is listed oldest first by customer, approved once (by whom), never claimed while waiting', async () => {
      const { job: a } = await f.jobs.enqueue(job('R-1', { customerId: 'r1' }), T);
      const { job: b } = await f.jobs.enqueue(job('R-2', { customerId: 'r2' }), T);
      for (const [c] of [await f.jobs.claim('w', 1, 60_000, T + 1), await f.jobs.claim('w', 1, 60_000, T + 2)]) {
        await f.jobs.storeAnswer(c!, { answer: {} }, T + 3);
        await f.jobs.settle(c!, { to: 'review', answer: { proposal: [{ field: 'Comment', before: 'x', after: 'y' }] } }, c!.id === a.id ? T + 4 : T + 5);
      }
      expect(await f.other.claim('x', 10, 60_000, T + 6)).toEqual([]);
      expect((await f.other.reviews()).map((j) => [j.id, j.state, j.leaseOwner])).toEqual([[a.id, 'review', null], [b.id, 'review', null]]);
      expect((await f.other.reviews({ customerId: 'r2' })).map((j) => j.id)).toEqual([b.id]);
      expect(await f.other.reviewSummary()).toEqual({ waiting: 2, oldestSince: T + 4 });
      expect((await f.jobs.get(a.id))!.answer).toEqual({ proposal: [{ field: 'Comment', before: 'x', after: 'y' }] });
      expect(await f.jobs.approveReviews([a.id], 'ann', T + 7)).toEqual([a.id]);
      expect(await f.other.approveReviews([a.id], 'bob', T + 8)).toEqual([]);
      expect(await f.other.get(a.id)).toMatchObject({ state: 'answered', reviewedBy: 'ann', leaseOwner: null });
      expect((await f.other.claim('x', 10, 60_000, T + 9)).map((j) => j.id)).toEqual([a.id]);
      expect(await f.jobs.approveReviews('all', 'cy', T + 10)).toEqual([b.id]);
      expect(await f.jobs.reviewSummary()).toEqual({ waiting: 0, oldestSince: null });
    });

    it('review: one customer\'s waiting answers are listed oldest decision first, within the limit', async () => {
      const ids: number[] = [];
      // The later job waits longer: it went to review first.
      for (const [n, at] of [['R-3a', T + 20], ['R-3b', T + 10], ['R-3c', T + 30]] as const) {
        const { job: j } = await f.jobs.enqueue(job(n, { customerId: 'r3' }), T);
        const [c] = await f.jobs.claim('w', 1, 60_000, T + 1);
        expect(c!.id).toBe(j.id);
        await f.jobs.storeAnswer(c!, { answer: {} }, T + 2);
        await f.jobs.settle(c!, { to: 'review', answer: { proposal: [] } }, at);
        ids.push(j.id);
      }
      await f.jobs.enqueue(job('R-4', { customerId: 'r4' }), T);
      expect((await f.other.reviews({ customerId: 'r3' })).map((j) => j.id)).toEqual([ids[1], ids[0], ids[2]]);
      expect((await f.other.reviews({ customerId: 'r3', limit: 2 })).map((j) => j.id)).toEqual([ids[1], ids[0]]);
      expect(await f.other.reviews({ customerId: 'r4' })).toEqual([]);
    });

    describe('every move the state machine allows succeeds, every other one changes nothing', () => {
      type Move = { to: JobState; name: string; precondition?: (from: JobState) => boolean; run: (j: Job) => Promise<unknown> | unknown };
      const moves: Move[] = [
        { to: 'answered', name: 'storeAnswer', run: (j) => f.jobs.storeAnswer(j, { answer: {} }, T + 10) },
        { to: 'written', name: 'settle(written)', run: (j) => f.jobs.settle(j, { to: 'written', attempt: attempt(j), answer: {}, syncState: syncState(j.customerId!) }, T + 10) },
        { to: 'skipped', name: 'settle(skipped)', run: (j) => f.jobs.settle(j, { to: 'skipped', attempt: attempt(j), reason: 'x' }, T + 10) },
        { to: 'failed', name: 'settle(failed)', run: (j) => f.jobs.settle(j, { to: 'failed', attempt: attempt(j), error: { code: null, message: 'x', fix: null } }, T + 10) },
        { to: 'held', name: 'settle(held)', run: (j) => f.jobs.settle(j, { to: 'held', hold: { kind: 'budget', reason: 'budget: cap' }, until: T + 60_000 }, T + 10) },
        { to: 'pending', name: 'settle(retry)', precondition: (from) => from !== 'answered', run: (j) => f.jobs.settle(j, { to: 'retry', error: { code: null, message: 'x', fix: null }, delayMs: 10 }, T + 10) },
        { to: 'batched', name: 'recordSubmission', precondition: (from) => from === 'pending', run: (j) => f.runs.recordSubmission({ id: `batch_${j.id}`, runId: 'run-b', inputFileId: 'file_1', lines: 1 }, [j.id], T + 10) },
        { to: 'pending', name: 'unbatch', precondition: (from) => from === 'batched', run: (j) => f.jobs.unbatch(j, { fallback: false }, 'x', T + 10) },
        { to: 'pending', name: 'releaseHeld', precondition: (from) => from === 'held', run: () => f.jobs.releaseHeld('budget', { onlyDue: false }, T + 10) },
        { to: 'pending', name: 'retryFailed', precondition: (from) => from === 'failed', run: (j) => f.jobs.retryFailed([j.id], T + 10) },
        { to: 'review', name: 'settle(review)', run: (j) => f.jobs.settle(j, { to: 'review', answer: { proposal: [] } }, T + 10) },
        { to: 'answered', name: 'approveReviews', precondition: (from) => from === 'review', run: (j) => f.jobs.approveReviews([j.id], 'tester', T + 10) },
      ];
      for (const m of moves) {
        for (const from of JOB_STATES) {
          const expected = allowed(from, m.to) && (m.precondition?.(from) ?? true);
          it(`${m.name}: ${from} -> ${m.to} ${expected ? 'moves' : 'is refused'}`, async () => {
            const { job: created } = await f.jobs.enqueue(job(`M-${from}`, { customerId: `m-${from}` }), T);
            await f.forceState(created.id, from, { holdReason: 'budget: cap' });
            const j = (await f.jobs.get(created.id))!;
            expect(j.state).toBe(from);
            try {
              await m.run(j);
            } catch {
              // A refused move may throw or change nothing; either way the state must stay.
            }
            expect((await f.other.get(created.id))!.state).toBe(expected ? m.to : from);
          });
        }
      }
    });
  });
}
