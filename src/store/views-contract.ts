/**
 * The contract of the read models (views-port.ts), part of the storage contract run on every adapter:
 * attempts are counted as attempts (a failed try the queue makes again is `retrying`, never `failed`),
 * records once by their latest attempt, jobs and runs as the queue holds them.
 */
import { describe, expect, it } from 'vitest';
import { at, attempt, T } from './contract-fixtures.js';
import type { ActivityFilter, AttemptTotals, NewJob, Storage } from './ports.js';

const sorted = (rows: AttemptTotals[]) => [...rows].sort((a, b) => a.outcome.localeCompare(b.outcome));

export function viewsContract(storage: () => Storage): void {
  describe('dashboard views', () => {
    // Attempts are written as they finish, so ids follow finished_at.
    const seed = async () => {
      const s = storage();
      const rows = [
        attempt(1_000, { customerNumber: 'ACME-1', requestedRef: 'ACME-1', outcome: 'synced', inputTokens: 100, cachedTokens: 10, outputTokens: 20, costUsd: 0.5, request: { model: 'm' }, tryNumber: 1, maxTries: 3, promptVersion: 'v-aaaaaaaa' }),
        // A failed try the queue makes again: retrying, not failed.
        attempt(2_000, { customerNumber: 'ACME-2', requestedRef: 'ACME-2', outcome: 'failed', errorCode: 'X', errorMessage: 'OpenAI timed out', request: { model: 'm' }, inputTokens: 5, tryNumber: 1, maxTries: 3, nextTryAt: at(30_000), promptVersion: 'v-aaaaaaaa' }),
        attempt(3_000, { customerNumber: null, customerId: '77', requestedRef: '77', trigger: 'webhook:updated', outcome: 'skipped', errorMessage: 'unchanged', flags: ['echo'] }),
        attempt(61_000, { customerNumber: 'BETA_1', requestedRef: 'BETA_1', outcome: 'synced', inputTokens: 1, outputTokens: 2, costUsd: 0.25, request: { model: 'm' }, promptVersion: 'v-bbbbbbbb' }),
        // The last try: a final failure.
        attempt(62_000, { customerNumber: 'ACME-1', requestedRef: 'ACME-1', outcome: 'failed', errorCode: 'WRITE', errorMessage: 'write failed', tryNumber: 3, maxTries: 3, promptVersion: 'v-bbbbbbbb' }),
      ];
      const ids: number[] = [];
      for (const r of rows) ids.push((await s.log.record(r)).id);
      return ids as [number, number, number, number, number];
    };

    it('activity: filters by outcome (failed is final, retrying is not), trigger, error code, text and record; pages newest first', async () => {
      const s = storage();
      const [one, two, three, four, five] = await seed();
      const all = await s.views.activity({ limit: 10, offset: 0 });
      expect(all.total).toBe(5);
      expect(all.items.map((i) => i.id)).toEqual([five, four, three, two, one]);
      expect(all.items[2]).toEqual({
        id: three, startedAt: at(2_900), finishedAt: at(3_000), customerNumber: null, customerId: '77', requestedRef: '77', trigger: 'webhook:updated', outcome: 'skipped',
        errorCode: null, reason: 'unchanged', fix: null, totalMs: 100, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: null, jobId: null, flags: ['echo'],
        instance: 'contract-host:4242', tryNumber: null, maxTries: null, nextTryAt: null, promptVersion: null,
      });
      expect(all.items[3]).toMatchObject({ id: two, outcome: 'retrying', tryNumber: 1, maxTries: 3, nextTryAt: at(30_000), promptVersion: 'v-aaaaaaaa' });
      expect(all.items[0]).toMatchObject({ id: five, outcome: 'failed', tryNumber: 3, maxTries: 3, nextTryAt: null });
      const ids = async (q: ActivityFilter) => (await s.views.activity({ limit: 10, offset: 0, ...q })).items.map((i) => i.id);
      expect(await ids({ outcome: 'failed' })).toEqual([five]);
      expect(await ids({ outcome: 'retrying' })).toEqual([two]);
      expect(await ids({ trigger: 'webhook:updated' })).toEqual([three]);
      expect(await ids({ trigger: 'webhook' })).toEqual([]); // a label, exactly
      expect(await ids({ errorCode: 'X' })).toEqual([two]);
      expect(await ids({ errorCode: 'WRITE', outcome: 'failed' })).toEqual([five]);
      expect(await ids({ q: 'acme' })).toEqual([five, two, one]);
      expect(await ids({ q: 'acme', outcome: 'synced' })).toEqual([one]);
      expect(await ids({ q: 'timed out' })).toEqual([two]);
      expect(await ids({ q: '77' })).toEqual([three]);
      expect(await ids({ q: 'webhook' })).toEqual([three]);
      // The search text is text, not a pattern.
      expect(await ids({ q: '_' })).toEqual([four]);
      expect(await ids({ q: '%' })).toEqual([]);
      expect(await ids({ customerNumber: 'ACME-1' })).toEqual([five, one]);
      expect(await ids({ customerId: '77' })).toEqual([three]);
      expect(await ids({ requestedRef: 'ACME-2' })).toEqual([two]);
      expect(await ids({ since: at(2_000), until: at(61_000) })).toEqual([three, two]);
      const page = await s.views.activity({ limit: 2, offset: 2 });
      expect(page).toMatchObject({ total: 5 });
      expect(page.items.map((i) => i.id)).toEqual([three, two]);
      expect((await s.views.activity({ q: 'acme', limit: 1, offset: 0 })).total).toBe(3);
    });

    it('activityRows: pages by id, newest first, each matching attempt exactly once, with the same filters', async () => {
      const s = storage();
      const [one, two, three, four, five] = await seed();
      const walk = async (filter: ActivityFilter, limit: number) => {
        const seen: number[] = [];
        let beforeId: number | undefined;
        for (;;) {
          const rows = await s.views.activityRows(filter, { beforeId, limit });
          seen.push(...rows.map((r) => r.id));
          if (rows.length < limit) return seen;
          beforeId = rows[rows.length - 1]!.id;
        }
      };
      expect(await walk({}, 2)).toEqual([five, four, three, two, one]);
      expect(await walk({ q: 'acme' }, 1)).toEqual([five, two, one]);
      expect(await walk({ outcome: 'retrying' }, 5)).toEqual([two]);
      expect(await walk({ since: at(2_000), until: at(61_000) }, 1)).toEqual([three, two]);
      expect((await s.views.activityRows({}, { beforeId: three, limit: 10 }))[0]).toEqual((await s.views.activity({ limit: 1, offset: 3 })).items[0]);
    });

    it('activityFacets: triggers and error codes since a time, most frequent first', async () => {
      const s = storage();
      await seed();
      expect(await s.views.activityFacets(at(0))).toEqual({
        triggers: [{ value: 'manual', attempts: 4 }, { value: 'webhook:updated', attempts: 1 }],
        errorCodes: [{ value: 'WRITE', attempts: 1 }, { value: 'X', attempts: 1 }],
      });
      expect(await s.views.activityFacets(at(61_500))).toEqual({ triggers: [{ value: 'manual', attempts: 1 }], errorCodes: [{ value: 'WRITE', attempts: 1 }] });
    });

    it('dayTotals: attempts finished since a time by outcome (retrying apart from failed), with calls and spend', async () => {
      const s = storage();
      await seed();
      expect(await s.views.dayTotals(new Date(T))).toEqual({
        attempts: { synced: 2, skipped: 1, failed: 1, retrying: 1 }, openaiCalls: 3, inputTokens: 106, cachedTokens: 10, outputTokens: 22, costUsd: 0.75,
      });
      expect(await s.views.dayTotals(new Date(T + 60_000))).toEqual({
        attempts: { synced: 1, skipped: 0, failed: 1, retrying: 0 }, openaiCalls: 1, inputTokens: 1, cachedTokens: 0, outputTokens: 2, costUsd: 0.25,
      });
      expect(await s.views.dayTotals(new Date(T + 100_000))).toEqual({
        attempts: { synced: 0, skipped: 0, failed: 0, retrying: 0 }, openaiCalls: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0,
      });
    });

    it('attemptTotals by id range, and a settled id counters can close at', async () => {
      const s = storage();
      const ids = await seed();
      expect(sorted(await s.views.attemptTotals(0))).toEqual([
        { outcome: 'failed', count: 1, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 },
        { outcome: 'retrying', count: 1, inputTokens: 5, cachedTokens: 0, outputTokens: 0, costUsd: 0 },
        { outcome: 'skipped', count: 1, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 },
        { outcome: 'synced', count: 2, inputTokens: 101, cachedTokens: 10, outputTokens: 22, costUsd: 0.75 },
      ]);
      expect(sorted(await s.views.attemptTotals(ids[0], ids[2])).map((r) => [r.outcome, r.count])).toEqual([['retrying', 1], ['skipped', 1]]);
      expect(await s.views.attemptTotals(ids[4])).toEqual([]);
      expect(await s.views.settledAttemptId(at(0))).toBe(0);
      expect(await s.views.settledAttemptId(at(2_500))).toBe(ids[1]);
      expect(await s.views.settledAttemptId(at(100_000))).toBe(ids[4]);
    });

    it('outcomeSeries and usageSeries: per bucket, oldest first, outside the window ignored', async () => {
      const s = storage();
      await seed();
      expect(await s.views.outcomeSeries(new Date(T), 30_000, 3)).toEqual({ synced: [1, 0, 1], skipped: [1, 0, 0], failed: [0, 0, 1], retrying: [1, 0, 0] });
      expect(await s.views.outcomeSeries(new Date(T + 1_500), 1_000, 2)).toEqual({ synced: [0, 0], skipped: [0, 1], failed: [0, 0], retrying: [1, 0] });
      expect(await s.views.outcomeSeries(new Date(T + 500_000), 1_000, 2)).toEqual({ synced: [0, 0], skipped: [0, 0], failed: [0, 0], retrying: [0, 0] });
      expect(await s.views.usageSeries(new Date(T), 30_000, 3)).toEqual({
        openaiCalls: [2, 0, 1], inputTokens: [105, 0, 1], cachedTokens: [10, 0, 0], outputTokens: [20, 0, 2], costUsd: [0.5, 0, 0.25],
      });
    });

    it('promptVersionOutcomes: attempts of a range by prompt version (with its text) and outcome, newest version first, none last', async () => {
      const s = storage();
      expect(await s.views.promptVersionOutcomes(at(0))).toEqual([]);
      await s.prompts.remember({ id: 'v-aaaaaaaa', text: 'Summarise the customer. Key sk-contract-SECRET-0123456789 must not show.' }, T);
      await seed();
      const zero = { synced: 0, skipped: 0, failed: 0, retrying: 0 };
      const a = { promptVersion: 'v-aaaaaaaa', text: 'Summarise the customer. Key [REDACTED] must not show.', attempts: { ...zero, synced: 1, retrying: 1 }, total: 2, costUsd: 0.5, lastAt: at(2_000) };
      // v-bbbbbbbb has no text kept (an attempt logged before its version was remembered): the counts still show.
      const b = { promptVersion: 'v-bbbbbbbb', text: null, attempts: { ...zero, synced: 1, failed: 1 }, total: 2, costUsd: 0.25, lastAt: at(62_000) };
      const none = { promptVersion: null, text: null, attempts: { ...zero, skipped: 1 }, total: 1, costUsd: 0, lastAt: at(3_000) };
      expect(await s.views.promptVersionOutcomes(at(0))).toEqual([b, a, none]);
      // The range: since inclusive, until exclusive, on finished_at.
      expect(await s.views.promptVersionOutcomes(at(0), at(2_500))).toEqual([a]);
      expect(await s.views.promptVersionOutcomes(at(2_000), at(3_000))).toEqual([{ ...a, attempts: { ...zero, retrying: 1 }, total: 1, costUsd: 0 }]);
      expect(await s.views.promptVersionOutcomes(at(61_500))).toEqual([{ ...b, attempts: { ...zero, failed: 1 }, total: 1, costUsd: 0 }]);
      expect(await s.views.promptVersionOutcomes(at(100_000))).toEqual([]);
    });

    it('recordCounts: each record once, by its latest attempt', async () => {
      const s = storage();
      expect(await s.views.recordCounts()).toEqual({ synced: 0, skipped: 0, failed: 0, retrying: 0 });
      await seed();
      // ACME-1 failed last (its earlier sync does not count), ACME-2 is being retried, 77 skipped, BETA_1 synced.
      expect(await s.views.recordCounts()).toEqual({ synced: 1, skipped: 1, failed: 1, retrying: 1 });
      await s.log.record(attempt(70_000, { customerNumber: 'ACME-2', requestedRef: 'ACME-2', outcome: 'failed', errorMessage: 'again', tryNumber: 3, maxTries: 3 }));
      expect(await s.views.recordCounts()).toEqual({ synced: 1, skipped: 1, failed: 2, retrying: 0 });
    });

    describe('the queue', () => {
      const job = (ref: string, runId: string | null, source: 'manual' | 'retry' | 'bulk' = 'manual'): NewJob => ({ ref, refKind: 'number', trigger: { source }, maxAttempts: 3, runId });

      it('jobs: filtered by state, trigger, error code, run and customer, newest first, with the total', async () => {
        const s = storage();
        const [a, b, c, d] = (await s.queue.enqueueMany([job('A', 'run-a'), job('B', 'run-a'), job('C', 'run-b', 'retry'), job('D', null)], T)).map((r) => r.job.id) as [number, number, number, number];
        const [claimed] = await s.queue.claim('w', 1, 60_000, T + 1);
        expect(claimed!.id).toBe(a);
        await s.queue.settle(claimed!, { to: 'failed', error: { code: 'E1', message: 'boom', fix: 'do this' } }, T + 2);
        const ids = async (q: Partial<Parameters<Storage['views']['jobs']>[0]>) => (await s.views.jobs({ limit: 10, offset: 0, ...q })).items.map((j) => j.id);
        const all = await s.views.jobs({ limit: 2, offset: 0 });
        expect(all.total).toBe(4);
        expect(all.items.map((j) => j.id)).toEqual([d, c]);
        expect(await ids({ state: 'failed' })).toEqual([a]);
        expect(await ids({ state: 'pending' })).toEqual([d, c, b]);
        expect(await ids({ trigger: 'retry' })).toEqual([c]);
        expect(await ids({ errorCode: 'E1' })).toEqual([a]);
        expect(await ids({ runId: 'run-a' })).toEqual([b, a]);
        expect(await ids({ ref: 'B' })).toEqual([b]);
        expect((await s.views.jobs({ state: 'failed', limit: 1, offset: 0 })).items[0]).toMatchObject({
          id: a, state: 'failed', ref: 'A', refKind: 'number', trigger: 'manual', maxAttempts: 3, runId: 'run-a', lastErrorCode: 'E1', lastError: 'boom', lastErrorFix: 'do this', leaseOwner: null,
        });
      });

      it('runs: each run once, newest first, its jobs by state, and a bulk run\'s own progress', async () => {
        const s = storage();
        expect(await s.views.runs({ limit: 10, offset: 0 })).toEqual({ total: 0, items: [] });
        await s.queue.enqueueMany([job('A', 'run-a'), job('B', 'run-a'), job('C', null)], T);
        const [claimed] = await s.queue.claim('w', 1, 60_000, T + 1);
        await s.queue.settle(claimed!, { to: 'skipped', reason: 'unchanged' }, T + 2);
        await s.runs.createRun('bulk-1', 'direct', {}, T + 3);
        await s.runs.addPage('bulk-1', 1, [job('D', 'bulk-1', 'bulk'), job('E', 'bulk-1', 'bulk')], 5, T + 4);
        const runs = await s.views.runs({ limit: 10, offset: 0 });
        expect(runs.total).toBe(2);
        expect(runs.items.map((r) => r.runId)).toEqual(['bulk-1', 'run-a']);
        expect(runs.items[1]).toEqual({
          runId: 'run-a', trigger: 'manual', createdAt: T, updatedAt: T + 2, total: 2,
          jobs: { pending: 1, calling: 0, batched: 0, answered: 0, review: 0, written: 0, skipped: 1, failed: 0, held: 0 }, bulk: null,
        });
        expect(runs.items[0]).toMatchObject({ trigger: 'bulk', total: 2, jobs: { pending: 2 }, bulk: { mode: 'direct', status: 'running', enumerated: 2, expected: 5, enumerationDone: false } });
        await s.runs.finishEnumeration('bulk-1', T + 5);
        expect((await s.views.runs({ limit: 1, offset: 0 })).items[0]!.bulk).toMatchObject({ enumerationDone: true });
        expect((await s.views.runs({ limit: 1, offset: 1 })).items.map((r) => r.runId)).toEqual(['run-a']);
      });
    });
  });
}
