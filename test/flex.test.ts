/**
 * Flex processing for bulk runs, against the OpenAI emulator over HTTP: direct calls that carry
 * service_tier flex and cost Batch prices, and each way a "resource unavailable" (flex without
 * capacity) is handled: retried later, sent at the default tier, or put into a batch of the run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { estimateBulk } from '../src/triggers/bulk/estimate-bulk.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { costUsd, priceFor } from '../src/openai/prices.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const N = 12;
const harness = (flexFallback: 'retry' | 'default' | 'batch') =>
  startHarness({
    ipaas: { customers: syntheticCustomers(N) },
    openai: { batch: { validatingMs: 20, msPerLine: 0, finalizingMs: 20, cancellingMs: 20 } },
    config: { openai: { flexFallback }, jobs: { retryBaseMs: 20, retryMaxMs: 50 }, batch: { pollMinMs: 20, pollMaxMs: 100 } },
  });
const completionBodies = (hh: Harness) =>
  hh.emulators.openai.emulator.requests().filter((r) => r.path.endsWith('/responses') && r.method === 'POST').map((r) => r.body as Record<string, unknown>);
const attemptOf = async (hh: Harness, customerNumber: string) => (await hh.connector.store.log.list({ customerNumber, outcome: 'synced', limit: 1 }))[0]!;

describe('sync --all --tier flex', () => {
  it('every call carries service_tier flex and costs Batch prices; the estimate shows direct, flex and batch', async () => {
    h = await harness('retry');
    const estimate = await estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct', tier: 'flex' });
    expect(estimate.flexUsd).toBeCloseTo(estimate.directUsd! * 0.5, 12);
    const r = await runBulk(h.connector, { params: { mode: 'direct', tier: 'flex' } });
    expect(r.finished).toBe(true);
    expect(r.counts.written).toBe(N);
    const bodies = completionBodies(h);
    expect(bodies.length).toBe(N);
    expect(bodies.every((b) => b.service_tier === 'flex')).toBe(true);

    // Billed at half the price of its usage at the default tier; a call at the default tier pays the full price.
    const flex = await attemptOf(h, 'LOAD-000003');
    expect(flex.trigger).toBe('bulk+flex');
    const fullPrice = (a: typeof flex) => costUsd({ inputTokens: a.inputTokens, cachedTokens: a.cachedTokens, outputTokens: a.outputTokens, reasoningTokens: a.reasoningTokens }, priceFor(a.model!))!;
    expect(flex.costUsd! / fullPrice(flex)).toBeCloseTo(0.5, 6);
    const full = (await runSync(h.connector, [{ customerNumber: 'LOAD-000003' }], { trigger: { source: 'manual' } })).results[0]!.attempt;
    expect(completionBodies(h).at(-1)!.service_tier).toBeUndefined();
    expect(full.costUsd! / fullPrice(full)).toBeCloseTo(1, 6);
  });

  it('flex without capacity, fallback retry: the record is tried again later (not a rate limit, nothing charged) and written', async () => {
    h = await harness('retry');
    h.emulators.openai.emulator.injectFault({ kind: 'flex_unavailable', match: 'LOAD-000004', times: 1 });
    const r = await runBulk(h.connector, { params: { mode: 'direct', tier: 'flex' } });
    expect(r.counts).toMatchObject({ written: N, failed: 0 });
    const tries = await h.connector.store.log.list({ customerNumber: 'LOAD-000004' });
    expect(tries.map((a) => a.outcome)).toEqual(['synced', 'failed']);
    expect(tries[1]!.errorMessage).toMatch(/status 429.*resource_unavailable/);
    expect(tries[1]!.costUsd ?? 0).toBe(0);
    expect(h.emulators.openai.emulator.counters.flexUnavailable).toBe(1);
    // The SDK did not retry it on its own: one refused request, then the queue's retry.
    expect(completionBodies(h).filter((b) => JSON.stringify(b).includes('LOAD-000004')).length).toBe(2);
    expect(h.connector.limiter?.snapshot().pausedUntil ?? null).toBeNull();
  });

  it('fallback default: the record goes at once at the default tier, full price, flagged', async () => {
    h = await harness('default');
    h.emulators.openai.emulator.injectFault({ kind: 'flex_unavailable', match: 'LOAD-000005', times: 1 });
    const r = await runBulk(h.connector, { params: { mode: 'direct', tier: 'flex' } });
    expect(r.counts).toMatchObject({ written: N, failed: 0 });
    const a = await attemptOf(h, 'LOAD-000005');
    expect(a.flags).toContain('flex had no capacity: sent at the default tier (openai.flexFallback: default)');
    expect((a.request as Record<string, unknown>).service_tier).toBe('default');
    const neighbour = await attemptOf(h, 'LOAD-000006');
    expect(a.costUsd! / neighbour.costUsd!).toBeGreaterThan(1.6); // full price against flex's half (similar usage)
    expect((await h.connector.store.log.list({ customerNumber: 'LOAD-000005' })).length).toBe(1);
  });

  it('fallback batch: the record goes into an OpenAI batch of the same run and is written from it', async () => {
    h = await harness('batch');
    h.emulators.openai.emulator.injectFault({ kind: 'flex_unavailable', match: 'LOAD-000007', times: 1 });
    const r = await runBulk(h.connector, { params: { mode: 'direct', tier: 'flex' } });
    expect(r.counts).toMatchObject({ written: N, failed: 0 });
    expect(h.emulators.openai.emulator.counters.batchesCreated).toBe(1);
    const a = await attemptOf(h, 'LOAD-000007');
    expect(a.trigger).toBe('batch');
    expect(a.flags?.[0]).toMatch(/^batch batch_\w+: 50% batch discount/);
  });
});
