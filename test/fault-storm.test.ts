import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { startServiceHarness, type ServiceHarness } from './helpers/service-harness.js';

const N = 120;
const STORM_MS = 3_000;
const customers = syntheticCustomers(N, 'STORM');

/** OpenAI requests sent while every answer is `status` for STORM_MS, then until all N records are written. */
async function storm(status: 500 | 503, harnesses: ServiceHarness[]): Promise<{ duringStorm: number; total: number }> {
  const h = await startServiceHarness({
    webhooks: false,
    ipaas: { customers },
    config: { jobs: { concurrency: 16, maxAttempts: 50, retryBaseMs: 200, retryMaxMs: 2_000 } },
  });
  harnesses.push(h);
  const em = h.emulators.openai.emulator;
  em.injectFault({ kind: 'status', status, times: 1_000_000 });
  const r = await h.api('POST', '/api/sync', { customerNumbers: customers.map((c) => c.customer_number) });
  expect(r.status).toBe(202);
  await new Promise((resolve) => setTimeout(resolve, STORM_MS));
  const duringStorm = em.counters.byPath['/v1/responses'] ?? 0;
  em.clearFaults();
  await h.idle(60_000);
  const run = (await h.api('GET', r.body.statusUrl)).body;
  expect(run.counts.written).toBe(N);
  return { duringStorm, total: em.counters.byPath['/v1/responses'] ?? 0 };
}

describe('a storm of OpenAI 5xx answers is paced', () => {
  const harnesses: ServiceHarness[] = [];
  afterEach(async () => {
    for (const h of harnesses.splice(0)) await h.close();
  });

  it(`500s cost no more than three times the requests of 503s over the same ${STORM_MS / 1000} s, and every record is written`, async () => {
    const s503 = await storm(503, harnesses);
    const s500 = await storm(500, harnesses);
    console.log(`fault storm: ${s503.duringStorm} requests during a 503 storm, ${s500.duringStorm} during a 500 storm (totals ${s503.total} / ${s500.total})`);
    expect(s500.duringStorm).toBeLessThanOrEqual(3 * Math.max(1, s503.duringStorm));
    // Paced, not hammering: far fewer requests than records times the SDK's tries.
    expect(s500.duringStorm).toBeLessThan(N);
  }, 120_000);
});
