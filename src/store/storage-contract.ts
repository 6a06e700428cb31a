/**
 * The contract of the storage ports other than the queue (queue-contract.ts has that one), written once
 * against the `Storage` interface and run on every adapter: the sync log and its redaction, the spend
 * ledger, the customer sync state, bulk runs and batches, pauses, and the dashboard's read models (views-contract.ts).
 *
 * `open` must open a fresh, empty store with `storageContractOptions` (its redactor hides
 * `STORAGE_CONTRACT_SECRET`; the account namespaces the sync state; the instance is recorded on attempts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { at, attempt, T } from './contract-fixtures.js';
import { SUBMITTING, type CustomerSyncState, type NewJob, type Outcome, type Storage, type TrialAttemptRecord } from './ports.js';
import { messagesContract } from './messages-contract.js';
import { retentionContract } from './retention-contract.js';
import { viewsContract } from './views-contract.js';

export const STORAGE_CONTRACT_SECRET = 'sk-contract-SECRET-0123456789';
export const storageContractOptions = {
  redact: (text: string) => text.split(STORAGE_CONTRACT_SECRET).join('[REDACTED]'),
  account: 'https://api.ipaas.example/',
  instance: 'contract-host:4242',
};

/** A prompt-lab call started `ms` after T. */
function trial(ms: number, fields: Partial<TrialAttemptRecord> = {}): TrialAttemptRecord {
  return {
    trialId: 'trial-1', variant: 'active', promptVersion: 'v-active01', startedAt: at(ms), finishedAt: at(ms + 50),
    customerId: '17', customerNumber: 'C-1', requestedRef: 'C-1', outcome: 'answered', errorCode: null, errorMessage: null,
    api: 'responses', model: 'gpt-x', request: { input: 'C-1' }, response: { id: 'resp_t' }, answer: { Comment: 'tried' },
    writes: [{ field: 'Comment', before: 'old', after: 'tried' }], responseId: 'resp_t',
    inputTokens: 100, cachedTokens: 0, outputTokens: 10, reasoningTokens: 0, costUsd: 0.125, totalMs: 50,
    ...fields,
  };
}

const byOutcome = <R extends { outcome: Outcome }>(rows: R[]) => [...rows].sort((a, b) => a.outcome.localeCompare(b.outcome));

export function storageContract(name: string, open: () => Promise<{ storage: Storage; close(): Promise<void> }>): void {
  describe(`storage contract on ${name}`, () => {
    let s: Storage;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ storage: s, close } = await open());
    });
    afterEach(async () => close());

    describe('sync log', () => {
      it('records an attempt and reads it back exactly, request templates included', async () => {
        const request = {
          model: 'gpt-x', instructions: 'You enrich customer records.', input: [{ role: 'user', content: 'C-1' }],
          text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } },
        };
        const response = { id: 'resp_1', instructions: 'You enrich customer records.', text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } }, output: [] };
        const a = attempt(1_000, {
          customerId: '17', collection: 'Customer', api: 'responses', model: 'gpt-x', request, response, answer: { Comment: 'ok' },
          writes: [{ field: 'Comment', before: null, after: 'ok' }], responseId: 'resp_1', requestId: 'req_1', inputTokens: 120, cachedTokens: 20,
          outputTokens: 30, reasoningTokens: 5, costUsd: 0.0012, loadMs: 1.5, openaiMs: 200.25, writeMs: 3, totalMs: 210.5, retryable: true, flags: ['human-edit: Comment kept'],
          promptVersion: '0123456789',
        });
        const stored = await s.log.record(a);
        const instance = storageContractOptions.instance;
        expect(stored).toEqual({ ...a, id: stored.id, instance });
        expect(stored.id).toBeGreaterThan(0);
        // A second attempt shares the templates; both read back whole.
        const second = await s.log.record({ ...a, finishedAt: at(2_000) });
        expect(await s.log.get(stored.id)).toEqual({ ...a, id: stored.id, instance });
        expect((await s.views.activity({ limit: 5, offset: 0 })).items.map((i) => i.instance)).toEqual([instance, instance]);
        expect((await s.log.get(second.id))!.request).toEqual(request);
        expect(await s.log.get(second.id + 1000)).toBeUndefined();
      });

      it('lists newest first, by CustomerNumber (or what was asked for) and outcome, with paging', async () => {
        const one = await s.log.record(attempt(1_000, { customerNumber: 'C-1', requestedRef: 'C-1' }));
        const two = await s.log.record(attempt(2_000, { customerNumber: null, requestedRef: 'C-2', outcome: 'failed', errorMessage: 'not found' }));
        const three = await s.log.record(attempt(3_000, { customerNumber: 'C-1', requestedRef: 'C-1', outcome: 'skipped' }));
        expect((await s.log.list()).map((a) => a.id)).toEqual([three.id, two.id, one.id]);
        expect((await s.log.list({ customerNumber: 'C-1' })).map((a) => a.id)).toEqual([three.id, one.id]);
        expect((await s.log.list({ customerNumber: 'C-2' })).map((a) => a.id)).toEqual([two.id]);
        expect((await s.log.list({ outcome: 'failed' })).map((a) => a.id)).toEqual([two.id]);
        expect((await s.log.list({ customerNumber: 'C-1', outcome: 'synced' })).map((a) => a.id)).toEqual([one.id]);
        expect((await s.log.list({ limit: 1, offset: 1 })).map((a) => a.id)).toEqual([two.id]);
      });

      it("keeps each record's latest outcome and counts its attempts", async () => {
        await s.log.record(attempt(1_000, { customerNumber: 'C-1', outcome: 'failed', errorMessage: 'timeout' }));
        const later = await s.log.record(attempt(2_000, { customerNumber: 'C-1', outcome: 'synced' }));
        const byId = await s.log.record(attempt(3_000, { customerNumber: null, customerId: '99', requestedRef: '99', outcome: 'failed', errorMessage: 'gone' }));
        const records = await s.log.records();
        expect(records.map((r) => r.recordKey)).toEqual(['id:99', 'C-1']);
        expect(records[1]).toEqual({ recordKey: 'C-1', customerId: null, customerNumber: 'C-1', status: 'synced', lastAttemptId: later.id, lastError: null, attempts: 2, updatedAt: at(2_000) });
        expect(await s.log.records('failed')).toEqual([{ recordKey: 'id:99', customerId: '99', customerNumber: null, status: 'failed', lastAttemptId: byId.id, lastError: 'gone', attempts: 1, updatedAt: at(3_000) }]);
        expect(await s.log.records('skipped')).toEqual([]);
      });

      it('totals by outcome', async () => {
        expect(await s.log.totals()).toEqual([]);
        await s.log.record(attempt(1_000, { inputTokens: 100, cachedTokens: 10, outputTokens: 20, costUsd: 0.5 }));
        await s.log.record(attempt(2_000, { inputTokens: 50, cachedTokens: 0, outputTokens: 5, costUsd: 0.25 }));
        await s.log.record(attempt(3_000, { outcome: 'failed' }));
        expect(byOutcome(await s.log.totals())).toEqual([
          { outcome: 'failed', count: 1, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 },
          { outcome: 'synced', count: 2, inputTokens: 150, cachedTokens: 10, outputTokens: 25, costUsd: 0.75 },
        ]);
      });

      it('averages the output tokens of successful calls with a model, once there are enough', async () => {
        for (const [i, out] of [10, 20, 31].entries()) await s.log.record(attempt(1_000 + i, { model: 'gpt-x', outputTokens: out }));
        await s.log.record(attempt(2_000, { model: 'gpt-x', outputTokens: 1_000, outcome: 'failed' }));
        await s.log.record(attempt(2_001, { model: 'gpt-y', outputTokens: 1_000 }));
        await s.log.record(attempt(2_002, { model: 'gpt-x', outputTokens: 0 }));
        expect(await s.log.averageOutputTokens('gpt-x', 3)).toBe(20);
        expect(await s.log.averageOutputTokens('gpt-x', 4)).toBeUndefined();
        expect(await s.log.averageOutputTokens('gpt-x')).toBeUndefined();
        expect(await s.log.averageOutputTokens('gpt-z', 1)).toBeUndefined();
      });

      it('a secret passed through the redactor never appears in anything read back', async () => {
        const secret = STORAGE_CONTRACT_SECRET;
        const a = await s.log.record(
          attempt(1_000, {
            outcome: 'failed', errorCode: 'OPENAI_AUTH', errorMessage: `Incorrect key ${secret}`, errorFix: `Replace ${secret} in .env`,
            request: { instructions: `Use key ${secret}`, input: [{ role: 'user', content: secret }], text: { format: { type: 'json_schema', name: secret } } },
            response: { error: { message: `bad ${secret}` } }, answer: { Comment: secret }, writes: [{ field: 'Comment', after: secret }],
          }),
        );
        const seen = JSON.stringify([
          await s.log.get(a.id), await s.log.list(), await s.log.records(), await s.views.activity({ limit: 10, offset: 0 }),
        ]);
        expect(seen).not.toContain(secret);
        expect(seen).toContain('[REDACTED]');
        expect((await s.log.get(a.id))!.errorMessage).toBe('Incorrect key [REDACTED]');
      });
    });

    it('the spend ledger sums tokens and cost of attempts started since a time', async () => {
      expect(await s.ledger.since(at(0))).toEqual({ tokens: 0, usd: 0 });
      await s.log.record(attempt(1_000, { inputTokens: 100, outputTokens: 10, costUsd: 0.5 }));
      await s.log.record(attempt(5_000, { inputTokens: 40, outputTokens: 2, costUsd: 0.25 }));
      await s.log.record(attempt(6_000, { outcome: 'failed', inputTokens: 1, outputTokens: 0, costUsd: null }));
      expect(await s.ledger.since(at(0))).toEqual({ tokens: 153, usd: 0.75 });
      expect(await s.ledger.since(at(4_000))).toEqual({ tokens: 43, usd: 0.25 });
      expect(await s.ledger.since(at(10_000))).toEqual({ tokens: 0, usd: 0 });
    });

    it('the ledger counts an answer waiting for review (paid, not yet logged) until the attempt that ends it logs its cost', async () => {
      const review = (ref: string, usage: { inputTokens: number; outputTokens: number }, costUsd: number, usageLogged?: boolean) => ({
        customerId: ref, customerNumber: ref, responseId: `resp_${ref}`, model: 'gpt-5-nano', usage: { ...usage, cachedTokens: 0, reasoningTokens: 0 }, costUsd, answer: {}, writes: [],
        ...(usageLogged ? { usageLogged } : {}), proposal: [], reviewSince: at(1_000),
      });
      for (const ref of ['R1', 'R2']) await s.queue.enqueue({ ref, refKind: 'number', customerId: ref, trigger: { source: 'manual' }, maxAttempts: 3 }, T);
      const claimed = (await s.queue.claim('w', 2, 60_000, T)).sort((x, y) => x.ref.localeCompare(y.ref));
      for (const c of claimed) await s.queue.storeAnswer(c, {}, T);
      await s.queue.settle(claimed[0]!, { to: 'review', answer: review('R1', { inputTokens: 100, outputTokens: 20 }, 0.5) }, T + 1);
      // Its cost was logged already by an earlier attempt: not counted twice.
      await s.queue.settle(claimed[1]!, { to: 'review', answer: review('R2', { inputTokens: 7, outputTokens: 3 }, 0.25, true) }, T + 1);
      expect(await s.ledger.since(at(0))).toEqual({ tokens: 120, usd: 0.5 });
      // Rejected: the attempt that ends the job carries the cost; the waiting answer no longer counts.
      const waiting = (await s.queue.get(claimed[0]!.id))!;
      await s.queue.settle(waiting, { to: 'skipped', attempt: attempt(5_000, { inputTokens: 100, outputTokens: 20, costUsd: 0.5 }), reason: 'rejected' }, T + 5);
      expect(await s.ledger.since(at(0))).toEqual({ tokens: 120, usd: 0.5 });
    });

    it('prompt versions: the text is kept once, redacted', async () => {
      await s.prompts.remember({ id: 'v1', text: `Summarise. ${STORAGE_CONTRACT_SECRET}` }, T);
      await s.prompts.remember({ id: 'v1', text: 'another text for the same id changes nothing' }, T + 1);
      expect(await s.prompts.get('v1')).toEqual({ id: 'v1', text: 'Summarise. [REDACTED]', firstSeen: T });
      expect(await s.prompts.get('v2')).toBeUndefined();
    });

    describe('trials (the prompt lab)', () => {
      it('are read back by trial and by customer, newest first, redacted; trials are summed per run', async () => {
        const a = await s.trials.record(trial(1_000, { errorMessage: null }));
        const b = await s.trials.record(trial(1_100, { variant: 'candidate', promptVersion: 'v-cand0001', answer: { Comment: STORAGE_CONTRACT_SECRET } }));
        await s.trials.record(trial(2_000, { trialId: 'trial-2', customerNumber: 'C-2', requestedRef: 'C-2', costUsd: 0.25 }));
        expect(a).toEqual({ ...trial(1_000), id: a.id, instance: storageContractOptions.instance });
        const one = await s.trials.list({ trialId: 'trial-1' });
        expect(one.map((t) => t.id)).toEqual([b.id, a.id]);
        expect(one[1]).toEqual(a);
        expect(one[0]!.answer).toEqual({ Comment: '[REDACTED]' });
        expect((await s.trials.list({ customerNumber: 'C-2' })).map((t) => t.trialId)).toEqual(['trial-2']);
        expect(await s.trials.runs()).toEqual([
          { trialId: 'trial-2', startedAt: at(2_000), calls: 1, customers: 1, costUsd: 0.25 },
          { trialId: 'trial-1', startedAt: at(1_000), calls: 2, customers: 1, costUsd: 0.25 },
        ]);
      });

      it('are never syncs: not in the sync log, its records, totals or views; but their cost counts in the ledger', async () => {
        await s.trials.record(trial(1_000));
        expect(await s.log.list()).toEqual([]);
        expect(await s.log.records()).toEqual([]);
        expect(await s.log.totals()).toEqual([]);
        expect((await s.views.activity({ limit: 10, offset: 0 })).total).toBe(0);
        expect(await s.ledger.since(at(0))).toEqual({ tokens: 110, usd: 0.125 });
        await s.log.record(attempt(2_000, { inputTokens: 40, outputTokens: 2, costUsd: 0.25 }));
        expect(await s.ledger.since(at(0))).toEqual({ tokens: 152, usd: 0.375 });
      });
    });

    it("a written settlement keeps the customer's sync state", async () => {
      expect(await s.state.get('42')).toBeUndefined();
      const { job } = await s.queue.enqueue({ ref: '42', refKind: 'id', customerId: '42', trigger: { source: 'manual' }, maxAttempts: 3 }, T);
      const [claimed] = await s.queue.claim('w', 1, 60_000, T);
      expect(claimed!.id).toBe(job.id);
      await s.queue.storeAnswer(claimed!, { Comment: 'hi' }, T + 1);
      const state: CustomerSyncState = { customerId: '42', customerNumber: 'C-42', inputFingerprint: 'fp-1', written: { Comment: 'hi' }, lastResponseId: 'resp_9', lastWrittenAt: T + 2 };
      const done = await s.queue.settle(claimed!, { to: 'written', attempt: attempt(2, { customerId: '42', customerNumber: 'C-42', jobId: job.id }), answer: { Comment: 'hi' }, syncState: state }, T + 2);
      expect(claimed!.state).toBe('written');
      expect(await s.state.get('42')).toEqual(state);
      expect(await s.queue.get(job.id)).toMatchObject({ state: 'written', lastAttemptId: done.attempt!.id, answer: { Comment: 'hi' }, leaseOwner: null });
      // A later write replaces it.
      const { job: again } = await s.queue.enqueue({ ref: '42', refKind: 'id', customerId: '42', trigger: { source: 'manual' }, maxAttempts: 3 }, T + 3);
      const [c2] = await s.queue.claim('w', 1, 60_000, T + 3);
      expect(c2!.id).toBe(again.id);
      await s.queue.storeAnswer(c2!, { Comment: 'hey' }, T + 4);
      const next = { ...state, inputFingerprint: 'fp-2', written: { Comment: 'hey' }, lastWrittenAt: T + 5 };
      await s.queue.settle(c2!, { to: 'written', attempt: attempt(5, { customerId: '42' }), answer: { Comment: 'hey' }, syncState: next }, T + 5);
      expect(await s.state.get('42')).toEqual(next);
      expect(await s.state.get('43')).toBeUndefined();
    });

    describe('bulk runs and batches', () => {
      const bulkJob = (ref: string, runId: string, source: 'bulk' | 'batch' = 'bulk'): NewJob => ({ ref, refKind: 'number', customerId: `id-${ref}`, trigger: { source }, maxAttempts: 3, runId });

      it('creates, finds the newest of a key, counts, and finishes runs', async () => {
        expect(await s.runs.run('k')).toBeUndefined();
        expect(await s.runs.latestRun('k')).toBeUndefined();
        expect(await s.runs.runCount('k')).toBe(0);
        const run = await s.runs.createRun('k', 'direct', { mode: 'direct', filter: { status: 'Active' } }, T);
        expect(run).toEqual({ id: 'k', mode: 'direct', params: { mode: 'direct', filter: { status: 'Active' } }, status: 'running', nextPage: 1, enumerated: 0, total: null, createdAt: T, finishedAt: null });
        expect(await s.runs.run('k')).toEqual(run);
        await s.runs.finishRun('k', T + 10);
        expect(await s.runs.run('k')).toMatchObject({ status: 'done', finishedAt: T + 10 });
        await s.runs.createRun('k.2', 'batch', { mode: 'batch' }, T + 20);
        await s.runs.createRun('other', 'direct', {}, T + 30);
        await s.runs.createRun('kx', 'direct', {}, T + 40);
        expect((await s.runs.latestRun('k'))!.id).toBe('k.2');
        expect(await s.runs.runCount('k')).toBe(2);
        // Creating a run again restarts it.
        expect(await s.runs.createRun('k', 'direct', {}, T + 50)).toMatchObject({ id: 'k', status: 'running', finishedAt: null, createdAt: T });
      });

      it('adds a page of jobs and moves the cursor in one commit; a customer already in the run is not added twice', async () => {
        await s.runs.createRun('r', 'direct', {}, T);
        expect(await s.runs.addPage('r', 1, [bulkJob('A', 'r'), bulkJob('B', 'r')], 5, T + 1)).toBe(2);
        expect(await s.runs.run('r')).toMatchObject({ nextPage: 2, enumerated: 2, total: 5 });
        // The same page again (a resumed enumeration): nothing new, the cursor still moves.
        expect(await s.runs.addPage('r', 1, [bulkJob('A', 'r'), bulkJob('B', 'r')], null, T + 2)).toBe(0);
        expect(await s.runs.addPage('r', 2, [bulkJob('B', 'r'), bulkJob('C', 'r')], null, T + 3)).toBe(1);
        expect(await s.runs.run('r')).toMatchObject({ nextPage: 3, enumerated: 6, total: 5 });
        expect((await s.queue.counts('r')).pending).toBe(3);
        // Another run takes the same customer again.
        await s.runs.createRun('r.2', 'direct', {}, T + 4);
        expect(await s.runs.addPage('r.2', 1, [bulkJob('A', 'r.2')], 1, T + 5)).toBe(1);
        await s.runs.finishEnumeration('r', T + 6);
        expect(await s.runs.run('r')).toMatchObject({ nextPage: -1, status: 'running' });
      });

      it('names the records whose jobs in a run ended, and no other run\'s', async () => {
        await s.runs.createRun('f', 'direct', {}, T);
        await s.runs.addPage('f', 1, [bulkJob('A', 'f'), bulkJob('B', 'f'), bulkJob('C', 'f')], 3, T);
        await s.runs.createRun('g', 'direct', {}, T);
        await s.runs.addPage('g', 1, [bulkJob('A', 'g')], 1, T);
        expect(await s.runs.finishedKeys('f')).toEqual(new Set());
        const [a, b] = (await s.queue.claim('w', 2, 60_000, T + 1)).sort((x, y) => x.ref.localeCompare(y.ref));
        await s.queue.settle(a!, { to: 'skipped', attempt: attempt(1, { customerId: 'id-A' }), reason: 'unchanged' }, T + 2);
        await s.queue.settle(b!, { to: 'failed', attempt: attempt(2, { customerId: 'id-B' }), error: { code: 'X', message: 'no', fix: null } }, T + 3);
        expect(await s.runs.finishedKeys('f')).toEqual(new Set(['id-A', 'id-B']));
        expect(await s.runs.finishedKeys('g')).toEqual(new Set());
      });

      it('a submission marks its jobs batched under a local id; it is confirmed with OpenAI\'s id, or dropped', async () => {
        await s.runs.createRun('b', 'batch', {}, T);
        await s.runs.addPage('b', 1, ['A', 'B', 'C', 'D'].map((r) => bulkJob(r, 'b', 'batch')), 4, T);
        const pending = await s.queue.pendingForBatch('b', 10, 0, T + 1);
        expect(pending.map((j) => j.ref)).toEqual(['A', 'B', 'C', 'D']);
        expect(await s.queue.countForBatch('b', 3, T + 1)).toBe(3);
        const [a, b, c, d] = pending.map((j) => j.id) as [number, number, number, number];

        await s.runs.recordSubmission({ id: 'local-1', runId: 'b', inputFileId: 'file_1', lines: 2 }, [a, b], T + 2);
        expect((await s.queue.jobsInBatch('local-1')).map((j) => j.id).sort()).toEqual([a, b].sort());
        expect(await s.queue.get(a)).toMatchObject({ state: 'batched', batchId: 'local-1' });
        expect(await s.runs.openBatches()).toEqual([]);
        expect(await s.runs.batches('b')).toEqual([
          { id: 'local-1', runId: 'b', inputFileId: 'file_1', status: SUBMITTING, lines: 2, outputFileId: null, errorFileId: null, applied: false, nextPollAt: Number.MAX_SAFE_INTEGER, polls: 0 },
        ]);
        expect((await s.queue.pendingForBatch('b', 10, 0, T + 3)).map((j) => j.id)).toEqual([c, d]);

        await s.runs.confirmSubmission('local-1', { id: 'batch_abc', inputFileId: 'file_1b', status: 'validating', nextPollAt: T + 60_000 }, T + 3);
        expect(await s.queue.jobsInBatch('local-1')).toEqual([]);
        expect((await s.queue.jobsInBatch('batch_abc')).map((j) => j.id).sort()).toEqual([a, b].sort());
        expect(await s.runs.openBatches('b')).toEqual([
          { id: 'batch_abc', runId: 'b', inputFileId: 'file_1b', status: 'validating', lines: 2, outputFileId: null, errorFileId: null, applied: false, nextPollAt: T + 60_000, polls: 0 },
        ]);
        await s.runs.updateBatch('batch_abc', { status: 'completed', outputFileId: 'file_out', nextPollAt: T + 120_000 }, T + 4);
        await s.runs.updateBatch('batch_abc', { status: 'completed', nextPollAt: T + 180_000 }, T + 5);
        expect(await s.runs.openBatches()).toMatchObject([{ id: 'batch_abc', status: 'completed', outputFileId: 'file_out', errorFileId: null, nextPollAt: T + 180_000, polls: 2 }]);

        await s.runs.recordSubmission({ id: 'local-2', runId: 'b', inputFileId: 'file_2', lines: 2 }, [c, d], T + 6);
        expect((await s.queue.counts('b')).batched).toBe(4);
        await s.runs.dropSubmission('local-2', T + 7);
        expect((await s.queue.pendingForBatch('b', 10, 0, T + 8)).map((j) => j.id)).toEqual([c, d]);
        expect(await s.queue.get(c)).toMatchObject({ state: 'pending', batchId: null });
        expect((await s.runs.batches('b')).map((x) => x.id)).toEqual(['batch_abc']);

        await s.runs.markApplied('batch_abc', T + 9);
        expect(await s.runs.openBatches()).toEqual([]);
        expect(await s.runs.batches('b')).toMatchObject([{ id: 'batch_abc', applied: true }]);
      });

      it('an ended batch is applied by one claimant at a time; a dead one\'s claim expires; an applied batch is claimed by no one', async () => {
        await s.runs.createRun('c', 'batch', {}, T);
        await s.runs.addPage('c', 1, [bulkJob('A', 'c', 'batch')], 1, T);
        const [a] = await s.queue.pendingForBatch('c', 10, 0, T + 1);
        await s.runs.recordSubmission({ id: 'local-c', runId: 'c', inputFileId: 'file_c', lines: 1 }, [a!.id], T + 2);
        expect(await s.runs.claimApply('local-c', 'webhook', 60_000, T + 2)).toBe(false); // an intent is not applied
        await s.runs.confirmSubmission('local-c', { id: 'batch_c', inputFileId: 'file_c', status: 'completed', nextPollAt: T }, T + 3);
        expect(await s.runs.batch('batch_c')).toMatchObject({ id: 'batch_c', runId: 'c', status: 'completed', applied: false });
        expect(await s.runs.batch('batch_none')).toBeUndefined();

        const together = await Promise.all(['webhook', 'poller', 'other'].map((o) => s.runs.claimApply('batch_c', o, 60_000, T + 10)));
        expect(together.filter(Boolean)).toHaveLength(1);
        const owner = ['webhook', 'poller', 'other'][together.indexOf(true)]!;
        const rival = owner === 'poller' ? 'webhook' : 'poller';
        expect(await s.runs.claimApply('batch_c', owner, 60_000, T + 20)).toBe(true); // the owner extends it
        expect(await s.runs.claimApply('batch_c', rival, 60_000, T + 60_019)).toBe(false);
        expect(await s.runs.claimApply('batch_c', rival, 60_000, T + 60_020)).toBe(true); // the owner's lease ran out
        await s.runs.releaseApply('batch_c', owner); // not the holder any more: changes nothing
        expect(await s.runs.claimApply('batch_c', owner, 60_000, T + 60_030)).toBe(false);
        await s.runs.releaseApply('batch_c', rival);
        expect(await s.runs.claimApply('batch_c', owner, 60_000, T + 60_040)).toBe(true);
        await s.runs.markApplied('batch_c', T + 60_050);
        expect(await s.runs.claimApply('batch_c', owner, 60_000, T + 60_060)).toBe(false);
        expect(await s.runs.claimApply('batch_c', rival, 60_000, T + 999_999)).toBe(false);
        expect(await s.runs.batch('batch_c')).toMatchObject({ applied: true });
      });
    });

    it('pauses: set once (the second set is not a new pause), read, cleared once', async () => {
      expect(await s.pauses.get('quota')).toBeUndefined();
      expect(await s.pauses.set('quota', 'quota: insufficient_quota', T)).toBe(true);
      expect(await s.pauses.set('quota', 'quota: again', T + 1)).toBe(false);
      expect(await s.pauses.get('quota')).toEqual({ kind: 'quota', reason: 'quota: insufficient_quota', since: T });
      expect(await s.pauses.clear('quota')).toBe(true);
      expect(await s.pauses.clear('quota')).toBe(false);
      expect(await s.pauses.get('quota')).toBeUndefined();
    });

    viewsContract(() => s);
    messagesContract(() => s, storageContractOptions.instance);
    retentionContract(() => s);
  });
}
