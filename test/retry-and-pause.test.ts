import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { retryCommand } from '../src/cli/commands/retry.js';
import { captureIO } from './helpers/harness.js';
import { startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

const N = 10;
const customers = syntheticCustomers(N, 'RTY');
const numbers = customers.map((c) => c.customer_number);

describe('retry, and the pause that lives in the store', () => {
  let h: ServiceHarness;
  afterEach(async () => h?.close());
  const putsOf = () => h.emulators.ipaas.emulator.counters.byRoute['PUT /customers/v2/Customer/:id'] ?? 0;

  it('D2: after a manual run whose records all failed, retry queues each record once: one call and one write each', async () => {
    h = await startServiceHarness({ webhooks: false, ipaas: { customers } });
    const em = h.emulators.openai.emulator;
    em.injectFault({ kind: 'status', status: 400, times: N }); // not retryable: every record is dead-lettered
    const run = await h.api('POST', '/api/sync', { customerNumbers: numbers });
    await h.idle();
    expect((await h.api('GET', run.body.statusUrl)).body.counts.failed).toBe(N);
    const callsBefore = em.counters.byPath['/v1/responses'] ?? 0;
    const putsBefore = putsOf();

    // A second process: the CLI, on the same database.
    const io = captureIO(h.env, h.dir);
    expect(await retryCommand({}, io)).toBe(0);
    expect(io.lines[0]).toBe(`${N} failed records queued again.`);
    await waitFor(async () => (await h.service.ctx.deps.store.queue.counts()).written === N, 20_000, 'the retried records to be written');
    await h.idle();
    expect((em.counters.byPath['/v1/responses'] ?? 0) - callsBefore).toBe(N);
    expect(putsOf() - putsBefore).toBe(N);

    // Nothing is failed any more: a second retry has nothing to do.
    const again = captureIO(h.env, h.dir);
    expect(await retryCommand({}, again)).toBe(0);
    expect(again.lines[0]).toBe('0 failed records queued again.');
  });

  it('D3: retry from another process lifts the quota pause of a running serve within seconds', async () => {
    h = await startServiceHarness({ webhooks: false, ipaas: { customers } });
    const em = h.emulators.openai.emulator;
    em.injectFault({ kind: 'insufficient_quota', times: 1_000 });
    await h.api('POST', '/api/sync', { customerNumbers: numbers });
    await waitFor(async () => (await h.service.ctx.pool.pausedReason()) !== undefined, 10_000, 'the pool to pause on insufficient_quota');
    const ready = await fetch(`${h.service.url}/readyz`);
    expect(ready.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await h.service.ctx.deps.store.queue.counts()).written).toBe(0);

    em.clearFaults(); // credit was added
    const io = captureIO(h.env, h.dir);
    expect(await retryCommand({}, io)).toBe(0);
    const t0 = Date.now();
    await waitFor(async () => (await h.service.ctx.deps.store.queue.counts()).written === N, 10_000, 'the paused serve to resume and write everything');
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await h.service.ctx.pool.pausedReason()).toBeUndefined();
  });
});
