import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { estimateBulk } from '../src/triggers/bulk/estimate-bulk.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { Budget } from '../src/pacing/budget.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const written = (hh: Harness) => hh.emulators.ipaas.emulator.listCustomers().filter((c) => c.custom_fields.some((f) => f.custom_field_name === 'Last Response ID')).length;
const puts = (hh: Harness) => hh.emulators.ipaas.emulator.counters.byRoute['PUT /customers/v2/Customer/:id'] ?? 0;

describe('sync --all (direct)', () => {
  it('backfills 2,000 customers page by page, each written once; an interrupted run continues without re-sending', async () => {
    const N = 2000;
    h = await startHarness({ ipaas: { customers: syntheticCustomers(N), pageSize: 100 }, config: { jobs: { concurrency: 16 } } });
    const abort = new AbortController();
    const first = await runBulk(h.connector, {
      params: { mode: 'direct' },
      signal: abort.signal,
      progressEveryMs: 0,
      onProgress: (p) => {
        if (p.done >= N / 2) abort.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(first.finished).toBe(false);
    const sentBefore = h.emulators.openai.emulator.counters.completions;
    expect(sentBefore).toBeGreaterThanOrEqual(N / 2);
    expect(sentBefore).toBeLessThan(N);

    const second = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(second.resumed).toBe(true);
    expect(second.runId).toBe(first.runId);
    expect(second.finished).toBe(true);
    expect(second.counts).toMatchObject({ written: N, failed: 0, pending: 0 });
    // Exactly one OpenAI call and one write per customer across both runs.
    expect(h.emulators.openai.emulator.counters.completions).toBe(N);
    expect(written(h)).toBe(N);
    expect(puts(h)).toBe(N);

    // A new backfill of unchanged data costs nothing: every record is skipped as unchanged.
    const third = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(third.runId).not.toBe(first.runId);
    expect(third.counts).toMatchObject({ skipped: N, written: 0 });
    expect(h.emulators.openai.emulator.counters.completions).toBe(N);
  }, 180_000);

  it('--where and --filter select customers; --since uses updatedSince', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(50) } });
    const r = await runBulk(h.connector, { params: { mode: 'direct', where: 'FirstName == "First7" || FirstName == "First8"' } });
    expect(r.counts.written).toBe(2);
    const f = await runBulk(h.connector, { params: { mode: 'direct', filter: { CustomerNumber: 'LOAD-000003' } } });
    expect(f.counts.written).toBe(1);
    const future = await runBulk(h.connector, { params: { mode: 'direct', since: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(future.counts.written + future.counts.skipped).toBe(0);
  });

  it('the estimate matches the tokens the emulator then reports (input within 3%)', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(300) } });
    const e = await estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct' });
    expect(e.records).toBe(300);
    expect(e.withoutCustomerNumber).toBe(0); // the sample page (first 100) has every number
    expect(e).toMatchObject({ exact: false, sampleSize: 50, toSend: 300, unchanged: 0, alreadyDone: 0 }); // several pages: shares, not counts
    const r = await runBulk(h.connector, { params: { mode: 'direct' } });
    const reportedPer = r.inputTokens / r.counts.written;
    expect(Math.abs(e.inputTokensPerRecord - reportedPer) / reportedPer).toBeLessThan(0.03);
    expect(e.totalInputTokens).toBeGreaterThan(0);
    expect(e.batchUsd).toBeCloseTo(e.directUsd! / 2, 10);
  });
});

describe('spend caps and quota', () => {
  it('a daily token cap reached mid-run holds the rest; raising it resumes; nothing is lost', async () => {
    const N = 60;
    h = await startHarness({ ipaas: { customers: syntheticCustomers(N) }, config: { budget: { daily: { tokens: 20 * 350 } }, jobs: { concurrency: 2 } } });
    const first = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(first.finished).toBe(false);
    expect(first.counts.held).toBeGreaterThan(0);
    expect(first.counts.written).toBeGreaterThan(10);
    expect(first.counts.written + first.counts.held).toBe(N);
    expect(first.stoppedReason).toMatch(/held by the budget/);
    const held = (await h.connector.store.queue.list({ state: 'held', limit: 1 }))[0]!;
    expect(held.holdReason).toMatch(/^budget: The daily token cap \(7000\) is reached/);

    // The operator raises the cap (config change + restart): the held records resume.
    h.connector.config.budget.daily = { tokens: 1_000_000 };
    h.connector.budget = await Budget.open(h.connector.config.budget, h.connector.store.ledger);
    const second = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(second.finished).toBe(true);
    expect(second.counts.held).toBe(0);
    expect(second.counts.written).toBe(N);
    expect(h.emulators.openai.emulator.counters.completions).toBe(N);
  });

  it('insufficient_quota stops sending at once with a clear message and holds the record', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(100) }, config: { jobs: { concurrency: 1 } } });
    h.emulators.openai.emulator.injectFault({ kind: 'insufficient_quota', match: 'LOAD-000010', times: 1 });
    const r = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(r.finished).toBe(false);
    expect(r.stoppedReason).toMatch(/insufficient_quota: sending stopped/);
    const calls = h.emulators.openai.emulator.counters.requests;
    expect(calls).toBeLessThan(25); // stopped right after, not after 100
    expect((await h.connector.store.queue.list({ state: 'held' })).some((j) => j.holdReason?.startsWith('quota:'))).toBe(true);
  });
});
