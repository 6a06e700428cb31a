/**
 * The contract of retention and erasure (retention-port.ts), part of the storage contract run on every
 * adapter: a retention purge blanks old bodies only and keeps the ledger; erasing a customer leaves no
 * row naming it or holding its data, keeps anonymous cost rows, and touches no other customer.
 */
import { describe, expect, it } from 'vitest';
import { at, attempt, T } from './contract-fixtures.js';
import { ERASED_REF, isTraceless } from './retention-port.js';
import type { AttemptRecord, Job, NewJob, Storage, TrialAttemptRecord } from './ports.js';

const trial = (ms: number, fields: Partial<TrialAttemptRecord> = {}): TrialAttemptRecord => ({
  trialId: 'trial-r', variant: 'active', promptVersion: 'v-ret00001', startedAt: at(ms - 50), finishedAt: at(ms),
  customerId: '17', customerNumber: 'C-1', requestedRef: 'C-1', outcome: 'answered', errorCode: null, errorMessage: null,
  api: 'responses', model: 'gpt-x', request: { input: 'C-1 data' }, response: { id: 'resp_t' }, answer: { Comment: 'tried' },
  writes: [{ field: 'Comment', before: 'old', after: 'tried' }], responseId: 'resp_t',
  inputTokens: 100, cachedTokens: 0, outputTokens: 10, reasoningTokens: 0, costUsd: 0.125, totalMs: 50, ...fields,
});

/** A request as the sync log gets it: its instructions become a stored template. */
const request = (instructions: string, data: string) => ({
  model: 'gpt-x', instructions, input: [{ role: 'user', content: data }], text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' } } },
});

const bodies = (who: Pick<AttemptRecord, 'customerNumber' | 'customerId' | 'requestedRef'>, ms: number, fields: Partial<AttemptRecord> = {}) =>
  attempt(ms, {
    ...who, api: 'responses', model: 'gpt-x', request: request('You enrich customer records.', `${who.requestedRef} data`), response: { id: 'resp_1', output: [] },
    answer: { Comment: `about ${who.requestedRef}` }, writes: [{ field: 'Comment', before: null, after: `about ${who.requestedRef}` }],
    responseId: 'resp_1', requestId: 'req_1', inputTokens: 100, cachedTokens: 10, outputTokens: 20, costUsd: 0.5, loadMs: 1, openaiMs: 2, writeMs: 3,
    promptVersion: 'v-ret00001', ...fields,
  });

/** A job of `ref` run to `written` at `now` (with the customer's sync state), or left `answered`. */
async function jobTo(s: Storage, to: 'written' | 'answered', j: NewJob, now: number, customerNumber: string): Promise<Job> {
  const { job } = await s.queue.enqueue(j, now);
  const [claimed] = await s.queue.claim('w', 1, 60_000, now);
  expect(claimed!.id).toBe(job.id);
  await s.queue.storeAnswer(claimed!, { Comment: `answer for ${customerNumber}` }, now + 1);
  if (to === 'written') {
    const state = { customerId: j.customerId!, customerNumber, inputFingerprint: 'fp', written: { Comment: `written for ${customerNumber}` }, lastResponseId: 'resp_1', lastWrittenAt: now + 2 };
    await s.queue.settle(claimed!, { to: 'written', attempt: bodies({ customerNumber, customerId: j.customerId!, requestedRef: customerNumber }, now + 2 - T, { jobId: job.id }), answer: { Comment: 'hi' }, syncState: state }, now + 2);
  } else {
    // Handed back: answered, its answer stored, no lease.
    await s.queue.releaseAll('w', now + 2);
  }
  return (await s.queue.get(job.id))!;
}

export function retentionContract(storage: () => Storage): void {
  describe('retention and erasure', () => {
    it('a retention purge blanks bodies finished before the time, in batches, idempotently; tokens, cost, outcome, timings and ids stay', async () => {
      const s = storage();
      const old = await s.log.record(bodies({ customerNumber: 'C-1', customerId: '17', requestedRef: 'C-1' }, 1_000, { outcome: 'failed', errorCode: 'INVALID_ANSWER', errorMessage: 'Customer C-1: the answer quoted "Zelda Quill"', errorFix: 'Tighten the PromptText.' }));
      const recent = await s.log.record(bodies({ customerNumber: 'C-2', customerId: '18', requestedRef: 'C-2' }, 5_000));
      const oldTrial = await s.trials.record(trial(1_000, { errorMessage: 'refused: Zelda Quill' }));
      const recentTrial = await s.trials.record(trial(5_000));
      const oldJob = await jobTo(s, 'written', { ref: 'C-3', refKind: 'number', customerId: '19', trigger: { source: 'manual' }, maxAttempts: 3 }, T + 100, 'C-3');
      // Open work keeps its answer however old: the write-back still needs it.
      const openJob = await jobTo(s, 'answered', { ref: 'C-4', refKind: 'number', customerId: '20', trigger: { source: 'manual' }, maxAttempts: 3 }, T + 200, 'C-4');
      const ledger = await s.ledger.since(at(0));
      const before = at(3_000);

      expect(await s.retention.countBodies(before)).toEqual({ attempts: 2, trials: 1, jobs: 1 }); // the old attempt and the old job's attempt
      expect(await s.retention.purgeBodies(before, { batchSize: 1 })).toEqual({ attempts: 2, trials: 1, jobs: 1 });

      const blanked = await s.log.get(old.id);
      expect(blanked).toEqual({
        ...old, request: null, response: null, answer: null, writes: null, errorMessage: null,
        // What the ledger and the dashboard count by stays.
        errorCode: 'INVALID_ANSWER', errorFix: 'Tighten the PromptText.', outcome: 'failed', inputTokens: 100, cachedTokens: 10, outputTokens: 20, costUsd: 0.5,
      });
      expect(await s.log.get(recent.id)).toEqual(recent);
      const trials = await s.trials.list({ trialId: 'trial-r' });
      expect(trials.find((t) => t.id === oldTrial.id)).toEqual({ ...oldTrial, request: null, response: null, answer: null, writes: null, errorMessage: null });
      expect(trials.find((t) => t.id === recentTrial.id)).toEqual(recentTrial);
      expect(await s.queue.get(oldJob.id)).toMatchObject({ state: 'written', answer: null, lastError: null });
      expect((await s.queue.get(openJob.id))!.answer).toEqual({ Comment: 'answer for C-4' });
      expect((await s.log.records('failed')).map((r) => [r.recordKey, r.lastError])).toEqual([['C-1', null]]);
      expect(await s.ledger.since(at(0))).toEqual(ledger);

      // Again: nothing left to do.
      expect(await s.retention.countBodies(before)).toEqual({ attempts: 0, trials: 0, jobs: 0 });
      expect(await s.retention.purgeBodies(before)).toEqual({ attempts: 0, trials: 0, jobs: 0 });
      expect(await s.log.get(recent.id)).toEqual(recent);
    });

    it('erasing a customer removes every row naming it (by CustomerNumber and its iPaaS.com id), keeps anonymous cost rows, and leaves other customers alone', async () => {
      const s = storage();
      const zelda = { customerNumber: 'ZQ-9', customerId: 'zq-909', requestedRef: 'ZQ-9' };
      // Its own PromptText (a {{placeholder}} filled with its name) becomes a template only its attempts use.
      const own = request('Write about Zelda Quill.', 'Zelda Quill, zelda@quill.example');
      const mine = [
        await s.log.record(bodies(zelda, 1_000, { request: own })),
        // Known only by its id (a webhook), and by what was asked for (the customer could not be loaded).
        await s.log.record(bodies({ customerNumber: null, customerId: 'zq-909', requestedRef: 'id zq-909' }, 1_100, { trigger: 'webhook:updated', outcome: 'skipped', errorMessage: 'unchanged' })),
        await s.log.record(bodies({ customerNumber: null, customerId: null, requestedRef: 'ZQ-9' }, 1_200, { outcome: 'failed', errorCode: 'CUSTOMER_NOT_FOUND', errorMessage: 'Customer ZQ-9 was not found' })),
      ];
      await s.trials.record(trial(1_300, { customerNumber: 'ZQ-9', customerId: 'zq-909', requestedRef: 'ZQ-9', request: { input: 'Zelda Quill' } }));
      await jobTo(s, 'written', { ref: 'ZQ-9', refKind: 'number', customerId: 'zq-909', trigger: { source: 'manual' }, maxAttempts: 3 }, T + 1_400, 'ZQ-9');

      const other = await s.log.record(bodies({ customerNumber: 'C-1', customerId: '17', requestedRef: 'C-1' }, 2_000));
      const otherTrial = await s.trials.record(trial(2_100));
      await jobTo(s, 'written', { ref: 'C-1', refKind: 'number', customerId: '17', trigger: { source: 'manual' }, maxAttempts: 3 }, T + 2_200, 'C-1');
      // A webhook delivery for its id, still waiting in the queue.
      const item = { eventKey: 'ev-zq', deliveryId: 'd1', attempt: 1, scope: 'customer/updated', customerId: 'zq-909' };
      await s.queue.intake([{ ...item, job: { ref: 'zq-909', refKind: 'id', customerId: 'zq-909', trigger: { source: 'webhook', event: 'updated' }, maxAttempts: 3, eventKey: 'ev-zq' } }], () => attempt(0), T + 2_300);
      const otherState = await s.state.get('17');
      const ledger = await s.ledger.since(at(0));
      const totals = await s.log.totals();

      const expected = { customerNumber: 'ZQ-9', customerIds: ['zq-909'], attempts: 4, records: 3, jobs: 2, syncState: 1, trials: 1, webhookEvents: 1, templates: 1 };
      expect(await s.retention.findCustomer('ZQ-9')).toEqual(expected);
      expect(await s.retention.eraseCustomer('ZQ-9', T + 10_000)).toEqual(expected);

      // Nothing readable names it or holds its data.
      const seen = JSON.stringify([
        await s.log.list({ limit: 100 }), await s.log.records(), await s.trials.list({ limit: 100 }), await s.queue.list({ limit: 100 }),
        await s.views.activity({ limit: 100, offset: 0 }), await s.state.get('zq-909'),
      ]);
      for (const trace of ['ZQ-9', 'zq-909', 'Zelda', 'zelda@quill']) expect(seen).not.toContain(trace);
      expect(await s.retention.findCustomer('ZQ-9')).toSatisfy(isTraceless);
      // The ledger keeps its rows, anonymous: the same tokens and cost, the same outcomes.
      expect(await s.ledger.since(at(0))).toEqual(ledger);
      expect(await s.log.totals()).toEqual(totals);
      const anonymous = await s.log.get(mine[0]!.id);
      expect(anonymous).toMatchObject({ customerNumber: null, customerId: null, requestedRef: ERASED_REF, request: null, response: null, answer: null, writes: null, responseId: null, requestId: null, inputTokens: 100, costUsd: 0.5, outcome: 'synced' });
      expect((await s.log.get(mine[2]!.id))!).toMatchObject({ errorCode: 'CUSTOMER_NOT_FOUND', errorMessage: null, errorFix: null });

      // The other customer is untouched, its attempt read back whole (the shared template is still there).
      expect(await s.log.get(other.id)).toEqual(other);
      expect((await s.trials.list({ customerNumber: 'C-1' })).map((t) => t.id)).toContain(otherTrial.id);
      expect(await s.state.get('17')).toEqual(otherState);
      expect((await s.log.records()).map((r) => r.recordKey)).toEqual(['C-1']);
      // Erasing again finds nothing.
      expect(await s.retention.eraseCustomer('ZQ-9', T + 11_000)).toSatisfy(isTraceless);
      expect(await s.retention.scrubFreedSpace()).toEqual(expect.arrayContaining([expect.any(String)]));
    });

    it("refuses to erase a customer while one of its jobs is in flight, naming the job; nothing is erased", async () => {
      const s = storage();
      await s.log.record(bodies({ customerNumber: 'ZQ-9', customerId: 'zq-909', requestedRef: 'ZQ-9' }, 1_000));
      const { job } = await s.queue.enqueue({ ref: 'ZQ-9', refKind: 'number', customerId: 'zq-909', trigger: { source: 'manual' }, maxAttempts: 3 }, T);
      await s.queue.claim('w', 1, 60_000, T);
      await expect(s.retention.eraseCustomer('ZQ-9', T + 10)).rejects.toThrow(new RegExp(`ZQ-9 has a job in flight \\(job ${job.id}, calling under a lease held by w\\)`));
      expect(await s.retention.findCustomer('ZQ-9')).toMatchObject({ attempts: 1, jobs: 1 });
      // Its lease ran out (the worker died): nothing holds it any more.
      expect(await s.retention.eraseCustomer('ZQ-9', T + 120_000)).toMatchObject({ attempts: 1, jobs: 1 });
    });
  });
}
