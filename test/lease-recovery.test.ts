import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanCache } from '../src/queue/plan-cache.js';
import { WorkerPool } from '../src/queue/worker-pool.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { waitFor } from './helpers/service-harness.js';

/** The pid of a process that has just exited: certainly dead. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('restart recovery of a dead lease holder (D5)', () => {
  let h: Harness;
  afterAll(async () => h?.close());

  it.each(['batch', 'worker'])('jobs leased by a killed %s of this host are taken back at once, not after the lease', async (role) => {
    h ??= await startHarness();
    const jobs = h.connector.store.queue;
    const { job } = await jobs.enqueue({ ref: 'CUST-10045', refKind: 'number', customerId: null, trigger: { source: 'manual' }, maxAttempts: 6 });
    const owner = `${role}@${hostname()}:${deadPid()}:run-1`;
    const [claimed] = await jobs.claim(owner, 1, 10 * 60_000);
    expect(claimed).toMatchObject({ id: job.id, leaseOwner: owner });

    const pool = new WorkerPool(h.connector, new PlanCache(h.connector), { concurrency: 2, leaseMs: 10 * 60_000, pollMs: 20 });
    pool.start();
    try {
      await waitFor(async () => (await jobs.get(job.id))!.state === 'written', 10_000, `job ${job.id} to be written after the recovery`);
    } finally {
      await pool.stop(1000);
    }
  });
});
