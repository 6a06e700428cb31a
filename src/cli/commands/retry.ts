import { PlanCache } from '../../jobs/plan-cache.js';
import { WorkerPool } from '../../jobs/worker-pool.js';
import { openConnector, rateLimiterFor } from '../../sync/connector.js';
import { resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

export interface RetryOptions extends CommonOptions {
  jobIds?: number[] | undefined;
  /** Run the requeued jobs now, in this process, instead of leaving them to a running service. */
  run?: boolean;
}

/**
 * `ipaas-openai retry`: re-runs failed (dead-lettered) records. Failed queue jobs
 * go back to the queue (a stored answer is reused, not paid for again); failed
 * records of direct CLI syncs are queued too.
 */
export async function retryCommand(options: RetryOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const limiter = rateLimiterFor(loaded.config, loaded.config.jobs.concurrency);
  const connector = openConnector(loaded, { limiter });
  try {
    const jobs = connector.store.jobs;
    let requeued = jobs.retryFailed(options.jobIds?.length ? options.jobIds : 'all');
    if (!options.jobIds?.length) {
      // Direct CLI syncs leave no job: their failed records are queued afresh.
      // A record never loaded has neither number nor id: there is nothing to name it by.
      const failed = connector.store.recordStates('failed').filter((r) => r.customerNumber || r.customerId);
      // enqueue() folds a record that is already waiting into its job.
      const queued = jobs.enqueueMany(
        failed.map((r) => ({
          ref: (r.customerNumber ?? r.customerId)!,
          refKind: r.customerNumber ? ('number' as const) : ('id' as const),
          customerId: r.customerId,
          trigger: 'retry',
          priority: 5,
          maxAttempts: loaded.config.jobs.maxAttempts,
        })),
      );
      requeued += queued.filter((q) => !q.coalesced).length;
    }
    io.out(`${requeued} record${requeued === 1 ? '' : 's'} queued again.`);
    if (!options.run || requeued === 0) {
      if (requeued) io.out('A running `ipaas-openai serve` picks them up; or run them now with `ipaas-openai retry --run`.');
      return 0;
    }
    const deps = { ...connector, limiter };
    const pool = new WorkerPool(deps, new PlanCache(deps), { concurrency: loaded.config.jobs.concurrency, leaseMs: loaded.config.jobs.leaseMs, pollMs: 50 });
    pool.start();
    // Run until nothing is ready now; jobs waiting for a later retry stay queued for the service.
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const c = jobs.counts();
      const readySoon = jobs.list({ state: 'pending', limit: 200 }).some((j) => j.runAfter <= Date.now() + 1000);
      if (pool.busy === 0 && c.calling === 0 && !readySoon && jobs.list({ state: 'answered', limit: 1 }).length === 0) break;
    }
    await pool.stop(1000, 'drain');
    const c = jobs.counts();
    io.out(`Queue now: ${c.written} written, ${c.skipped} skipped, ${c.failed} failed, ${c.pending} waiting.`);
    return c.failed > 0 ? 1 : 0;
  } finally {
    await connector.close();
  }
}
