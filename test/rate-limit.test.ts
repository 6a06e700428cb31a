import { afterAll, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { startServiceHarness, type ServiceHarness } from './helpers/service-harness.js';

const N = 135;
const customers = syntheticCustomers(N, 'RL');

describe('rate limits are the physical limit', () => {
  let h: ServiceHarness;
  afterAll(async () => h?.close());

  it(`${N} records under 120 RPM with injected 429s and 5xx: every record ends written or dead-lettered, 429s stay rare`, async () => {
    h = await startServiceHarness({
      webhooks: false,
      ipaas: { customers },
      openai: { rpm: 120, tpm: 200_000 },
      config: { openai: { maxOutputTokens: 400 }, jobs: { concurrency: 16, retryBaseMs: 50, retryMaxMs: 1000 } },
    });
    const em = h.emulators.openai.emulator;
    em.injectFault({ kind: 'status', status: 429, times: 2 });
    em.injectFault({ kind: 'status', status: 500, times: 2 });
    em.injectFault({ kind: 'status', status: 503, times: 2 });
    const started = Date.now();
    const r = await h.api('POST', '/api/sync', { customerNumbers: customers.map((c) => c.customer_number) });
    expect(r.status).toBe(202);
    await h.idle(60_000);
    const elapsedMin = (Date.now() - started) / 60_000;

    const run = (await h.api('GET', r.body.statusUrl)).body;
    expect(run.finished).toBe(true);
    expect(run.counts.written + run.counts.failed).toBe(N);
    for (const j of run.jobs.filter((x: { state: string }) => x.state === 'failed')) expect(j.lastError).toBeTruthy();
    expect(run.counts.written).toBe(N);

    // The emulator's own limiter said no only rarely: injected 429s aside, under 1% of calls.
    const natural = em.counters.rateLimited - 2;
    expect(natural).toBeLessThanOrEqual(Math.ceil(0.01 * em.counters.completions));
    // Bucket capacity (120) passes at once; the rest is paced near the limit, not far below it.
    const paced = N - 120;
    expect(elapsedMin * 120).toBeGreaterThan(paced * 0.8);
    expect(h.service.ctx.deps.limiter.snapshot().rpmLimit).toBe(120);
  });
});
