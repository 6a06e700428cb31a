import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { estimateBulk } from '../src/triggers/bulk/estimate-bulk.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { Budget } from '../src/pacing/budget.js';
import { DEFAULT_FROM_COLLECTION, DEFAULT_TO_COLLECTION } from '../src/config/defaults.js';
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
    expect(e).toMatchObject({ exact: true, sampleSize: 300, sampled: 100, toSend: 300, withoutCustomerNumber: 0, unchanged: 0, alreadyDone: 0 });
    const r = await runBulk(h.connector, { params: { mode: 'direct' } });
    const reportedPer = r.inputTokens / r.counts.written;
    expect(Math.abs(e.inputTokensPerRecord - reportedPer) / reportedPer).toBeLessThan(0.03);
    expect(e.totalInputTokens).toBeGreaterThan(0);
    expect(e.batchUsd).toBeCloseTo(e.directUsd! / 2, 10);
  });
});

describe('the backfill estimate counts, it does not extrapolate', () => {
  // 300 customers on 6 pages of 50; the first page is ordinary, the odd ones are further on.
  const customers = () => syntheticCustomers(300).map((c, i) => (i === 120 || i === 250 ? { ...c, customer_number: null } : i >= 200 && i < 230 ? { ...c, first_name: 'Skip' } : c));
  const from = { ...DEFAULT_FROM_COLLECTION, filter: { recordType: 'Customer' as const, expression: "FirstName != 'Skip'" } };

  it('who is filtered, without CustomerNumber or unchanged is counted over every page; the run then does exactly that', async () => {
    h = await startHarness({ ipaas: { customers: customers(), pageSize: 50 }, config: { mappingCollections: [from, DEFAULT_TO_COLLECTION] } });
    const e = await estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct' });
    expect(e).toMatchObject({ records: 300, exact: true, withoutCustomerNumber: 2, excludedByFilter: 30, unchanged: 0, alreadyDone: 0, toSend: 268 });
    const r = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(r.counts).toMatchObject({ written: 268, failed: 2, skipped: 30 });
    expect(h.emulators.openai.emulator.counters.completions).toBe(268);

    // Nothing changed since: every one is counted unchanged, so nothing is to send (and nothing needs confirming).
    const again = await estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct' });
    expect(again).toMatchObject({ records: 300, unchanged: 268, toSend: 0, withoutCustomerNumber: 2, excludedByFilter: 30 });
  });

  it('Ctrl-C while counting stops after the page in hand, with nothing sent', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(300), pageSize: 50 } });
    const abort = new AbortController();
    const pages: number[] = [];
    const counting = estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct' }, { signal: abort.signal, onPage: (looked) => (pages.push(looked), looked >= 100 && abort.abort()) });
    await expect(counting).rejects.toMatchObject({ code: 'INTERRUPTED', message: expect.stringContaining('(100 looked at): nothing was sent') });
    expect(pages).toEqual([50, 100]);
    expect(h.emulators.openai.emulator.counters.completions).toBe(0);
  });

  it("a rerun's estimate counts only what the interrupted run left, and the rerun sends exactly that", async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(300), pageSize: 50 }, config: { jobs: { concurrency: 4 } } });
    const abort = new AbortController();
    const first = await runBulk(h.connector, { params: { mode: 'direct' }, signal: abort.signal, progressEveryMs: 0, onProgress: (p) => p.done >= 120 && abort.abort() });
    expect(first.interrupted).toBe(true);
    const done = first.counts.written + first.counts.skipped + first.counts.failed;
    const e = await estimateBulk(h.loaded.config, h.connector.ipaas, h.connector.store, { mode: 'direct', force: false });
    expect(e).toMatchObject({ records: 300, exact: true, alreadyDone: done, toSend: 300 - done });
    const before = h.emulators.openai.emulator.counters.completions;
    const second = await runBulk(h.connector, { params: { mode: 'direct' } });
    expect(second.resumed).toBe(true);
    expect(h.emulators.openai.emulator.counters.completions - before).toBe(e.toSend);
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
