import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { silentLogger } from '../src/shared/logger.js';
import { openConnector, type Connector } from '../src/app/connector.js';
import { startHarness, type Harness } from './helpers/harness.js';

const N = 30;
let h: Harness | undefined;
let own: Connector | undefined;
afterEach(async () => {
  await own?.close();
  await h?.close();
  h = own = undefined;
});

/** A fetch for the SDK that loses OpenAI's answer to batch creation (the batch exists; the connector never hears of it). */
function losingBatchAnswers(state: { loseCreate: boolean; failList: boolean }): typeof fetch {
  return async (input, init) => {
    // The path, not the URL: the SDK lists batches as /v1/batches?limit=100.
    const url = new URL(String(input instanceof Request ? input.url : input)).pathname;
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (url.endsWith('/batches') && method === 'GET' && state.failList) throw new TypeError('fetch failed (emulated network loss)');
    const res = await fetch(input, init);
    if (url.endsWith('/batches') && method === 'POST' && state.loseCreate) {
      state.loseCreate = false;
      await res.arrayBuffer();
      throw new TypeError('fetch failed (the answer was lost after OpenAI created the batch)');
    }
    return res;
  };
}

async function setup(state: { loseCreate: boolean; failList: boolean }) {
  h = await startHarness({
    ipaas: { customers: syntheticCustomers(N) },
    openai: { batch: { validatingMs: 20, msPerLine: 0, finalizingMs: 20, cancellingMs: 20 } },
    config: { batch: { pollMinMs: 20, pollMaxMs: 200 } },
  });
  own = await openConnector(h.loaded, { logger: silentLogger(), fetch: losingBatchAnswers(state) });
  return { h, connector: own, em: h.emulators.openai.emulator };
}

describe('a batch OpenAI created but the connector never recorded (D1)', () => {
  it('a lost create answer is not retried blindly: the batch is found by its run and adopted, every line paid once', async () => {
    const { connector, em } = await setup({ loseCreate: true, failList: false });
    const r = await runBulk(connector, { params: { mode: 'batch' } });
    expect(r.finished).toBe(true);
    expect(r.counts.written).toBe(N);
    expect(em.counters.batchesCreated).toBe(1);
    expect(em.counters.batchLinesProcessed).toBe(N);
    expect(em.counters.completions).toBe(0);
  });

  it('killed as OpenAI answered the create: the rerun adopts the batch instead of creating another', async () => {
    const state = { loseCreate: true, failList: true };
    const { connector, em } = await setup(state);
    const abort = new AbortController();
    const first = await runBulk(connector, {
      params: { mode: 'batch' },
      signal: abort.signal,
      progressEveryMs: 0,
      onProgress: () => {
        if (em.counters.batchesCreated >= 1) abort.abort(); // the connector "dies" knowing nothing of it
      },
    });
    expect(first.interrupted).toBe(true);
    expect(em.counters.batchesCreated).toBe(1);

    state.failList = false;
    const second = await runBulk(connector, { params: { mode: 'batch' } });
    expect(second.resumed).toBe(true);
    expect(second.finished).toBe(true);
    expect(second.counts.written).toBe(N);
    expect(em.counters.batchesCreated).toBe(1);
    expect(em.counters.batchLinesProcessed).toBe(N);
    expect(em.counters.completions).toBe(0);
  });
});
