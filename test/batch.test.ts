import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const N = 100;
const fast = (extra: Record<string, unknown> = {}): HarnessOptions => ({
  ipaas: { customers: syntheticCustomers(N) },
  openai: { batch: { validatingMs: 20, msPerLine: 0, finalizingMs: 20, cancellingMs: 20 } },
  config: { batch: { maxLinesPerFile: 40, pollMinMs: 20, pollMaxMs: 200, ...extra } },
});
const writtenCount = (hh: Harness) => hh.emulators.ipaas.emulator.listCustomers().filter((c) => c.custom_fields.some((f) => f.custom_field_name === 'Last Response ID')).length;

describe('sync --all --batch (OpenAI Batch API)', () => {
  it('splits into files within the line limit, applies every result by custom_id, and a failed line falls back to a direct call', async () => {
    h = await startHarness(fast());
    const em = h.emulators.openai.emulator;
    em.injectFault({ kind: 'status', status: 500, match: 'LOAD-000007', times: 1 });
    const r = await runBulk(h.connector, { params: { mode: 'batch' } });
    expect(r.finished).toBe(true);
    expect(r.counts).toMatchObject({ written: N, failed: 0, batched: 0 });
    expect(writtenCount(h)).toBe(N);
    expect(em.counters.batchesCreated).toBe(3); // 40 + 40 + 20 lines
    expect(em.counters.filesUploaded).toBe(3);
    expect(em.counters.completions).toBe(1); // only the failed line went direct
    const viaBatch = (await h.connector.store.log.list({ customerNumber: 'LOAD-000001', limit: 1 }))[0]!;
    expect(viaBatch.flags?.[0]).toMatch(/^batch batch_\w+: 50% batch discount/);
    const fallback = (await h.connector.store.log.list({ customerNumber: 'LOAD-000007', outcome: 'synced', limit: 1 }))[0]!;
    expect(fallback.trigger).toBe('batch-fallback');
    // Half price: the batch attempt costs half what the same usage costs directly.
    expect(viaBatch.costUsd! / fallback.costUsd!).toBeCloseTo(0.5, 1);
  });

  it('an expired batch: its lines are sent directly, nothing lost', async () => {
    h = await startHarness(fast({ maxLinesPerFile: 50_000 }));
    const em = h.emulators.openai.emulator;
    // Held from its creation: a fast batch could otherwise finish before the first progress report sees it.
    em.batchControl.pauseNew(true);
    const expired = new Set<string>();
    const r = await runBulk(h.connector, {
      params: { mode: 'batch' },
      progressEveryMs: 0,
      onProgress: async () => {
        for (const b of await h!.connector.store.runs.openBatches()) {
          if (!expired.has(b.id)) {
            em.batchControl.pause(b.id);
            em.batchControl.expireNow(b.id);
            expired.add(b.id);
          }
        }
      },
    });
    expect(expired.size).toBe(1);
    expect(r.finished).toBe(true);
    expect(r.counts.written).toBe(N);
    expect(writtenCount(h)).toBe(N);
    expect(em.counters.completions).toBe(N);
    const job = (await h.connector.store.queue.list({ limit: 1 }))[0]!;
    expect(job.trigger).toEqual({ source: 'batch', fallback: true });
  });

  it('a restart while polling resumes the stored batches instead of paying again', async () => {
    h = await startHarness(fast());
    const em = h.emulators.openai.emulator;
    const abort = new AbortController();
    // Hold each batch at OpenAI from its creation while we "crash", as a real 24 h window would.
    em.batchControl.pauseNew(true);
    const first = await runBulk(h.connector, {
      params: { mode: 'batch' },
      signal: abort.signal,
      progressEveryMs: 0,
      onProgress: async (p) => {
        if (p.openBatches >= 3) abort.abort();
      },
    });
    expect(first.interrupted).toBe(true);
    expect(em.counters.batchesCreated).toBe(3);
    em.batchControl.pauseNew(false);
    for (const b of await h.connector.store.runs.openBatches()) em.batchControl.resume(b.id);
    const second = await runBulk(h.connector, { params: { mode: 'batch' } });
    expect(second.resumed).toBe(true);
    expect(second.finished).toBe(true);
    expect(second.counts.written).toBe(N);
    expect(em.counters.batchesCreated).toBe(3);
    expect(em.counters.batchLinesProcessed).toBe(N);
    expect(em.counters.completions).toBe(0);
  });

  it('a batch that fails validation is retried in the next batch when onLineFailure is retry', async () => {
    h = await startHarness(fast({ maxLinesPerFile: 50_000, onLineFailure: 'retry' }));
    const em = h.emulators.openai.emulator;
    em.batchControl.failNext('emulated outage');
    const r = await runBulk(h.connector, { params: { mode: 'batch' } });
    expect(r.finished).toBe(true);
    expect(r.counts.written).toBe(N);
    expect(em.counters.batchesCreated).toBe(2);
    expect(em.counters.completions).toBe(0);
  });
});
