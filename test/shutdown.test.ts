import { afterAll, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { loadConfig } from '../src/config/load-config.js';
import { startService } from '../src/server/service.js';
import { silentLogger } from '../src/shared/logger.js';
import { startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

const N = 40;
const customers = syntheticCustomers(N, 'STOP');

describe('stopping while OpenAI calls hang (D4)', () => {
  let h: ServiceHarness;
  afterAll(async () => h?.close());

  it('aborts the calls in flight at once, sends nothing more, and the next start pays each record once', async () => {
    h = await startServiceHarness({ webhooks: false, ipaas: { customers }, config: { jobs: { concurrency: 16 } } });
    const em = h.emulators.openai.emulator;
    const sent = () => em.counters.byPath['/v1/responses'] ?? 0;
    em.injectFault({ kind: 'timeout', times: 1_000_000 }); // every call hangs until the client gives up
    const r = await h.api('POST', '/api/sync', { customerNumbers: customers.map((c) => c.customer_number) });
    expect(r.status).toBe(202);
    await waitFor(() => sent() >= 16, 15_000, '16 OpenAI calls in flight');

    const t0 = Date.now();
    const stopped = await h.service.stop(10_000);
    const stopMs = Date.now() - t0;
    expect(stopMs).toBeLessThan(5_000); // not the grace period, not the SDK's 60 s timeout
    expect(stopped.finished).toBe(0);
    const atStop = sent();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(sent()).toBe(atStop); // no SDK retry after the abort

    // Nothing failed, nothing counted as an attempt: every job is waiting again.
    const jobs = h.connector.store.queue; // the service's connection is closed; the harness's sees the same file
    const counts = await jobs.counts();
    expect(counts.pending).toBe(N);
    expect(counts.failed + counts.calling + counts.answered).toBe(0);
    expect((await jobs.list({ state: 'pending', limit: N })).every((j) => j.attempts === 0)).toBe(true);

    em.clearFaults();
    em.resetCounters();
    const loaded = loadConfig({ env: h.env, cwd: h.dir, overrides: { server: { port: 0 } } });
    const again = await startService(loaded, { logger: silentLogger() });
    try {
      await waitFor(async () => (await again.ctx.deps.store.queue.counts()).written === N, 30_000, 'all records written after the restart');
      expect(em.counters.completions).toBe(N);
    } finally {
      await again.stop(1000);
    }
  }, 60_000);
});
