import { PlanCache } from '../../queue/plan-cache.js';
import { resumeAfterQuota, WorkerPool } from '../../queue/worker-pool.js';
import { openConnector, rateLimiterFor } from '../../app/connector.js';
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
  const connector = await openConnector(loaded, { limiter, fresh: !!options.fresh });
  if (connector.store.notice) io.err(`warning: ${connector.store.notice}`);
  try {
    const { queue } = connector.store;
    let requeued: number;
    let unit: string;
    if (options.jobIds?.length) {
      // A job that does not exist or did not fail is this run's failure (exit 1), named with what to do.
      for (const id of options.jobIds) {
        const job = await queue.get(id);
        if (!job) {
          io.err(`error: there is no job ${id}.`);
          io.err('Fix: list failed jobs with `ipaas-openai logs --outcome failed` (or GET /api/jobs?state=failed) and retry one of those ids.');
          return 1;
        }
        if (job.state !== 'failed' && !(job.state === 'held' && job.holdKind === 'quota')) {
          io.err(`error: job ${id} is ${job.state}, not failed: there is nothing to retry.`);
          io.err('Fix: only failed (dead-lettered) jobs can be retried; `ipaas-openai sync <CustomerNumber>` syncs a record again.');
          return 1;
        }
      }
      requeued = await queue.retryFailed(options.jobIds);
      unit = 'job';
    } else {
      // Each record whose latest outcome is failed, once: its newest failed job, or a new job after a direct sync.
      requeued = await queue.retryRecords(await connector.store.log.records('failed'), loaded.config.jobs.maxAttempts);
      unit = 'failed record';
    }
    // The quota pause lives in the store: lifting it here resumes a running serve in any process.
    const lifted = await resumeAfterQuota(connector.store);
    io.out(`${requeued} ${unit}${requeued === 1 ? '' : 's'} queued again.`);
    if (lifted) io.out(`${lifted} job${lifted === 1 ? '' : 's'} held by the OpenAI quota went back to the queue.`);
    requeued += lifted;
    if (!options.run || requeued === 0) {
      if (requeued) io.out('A running `ipaas-openai serve` picks them up within a second; or run them now with `ipaas-openai retry --run`.');
      return 0;
    }
    const deps = { ...connector, limiter };
    const pool = new WorkerPool(deps, new PlanCache(deps), { concurrency: loaded.config.jobs.concurrency, leaseMs: loaded.config.jobs.leaseMs, pollMs: 50 });
    await pool.start();
    // Run until nothing is ready now; jobs waiting for a later retry stay queued for the service.
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const c = await queue.counts();
      const readySoon = (await queue.list({ state: 'pending', limit: 200 })).some((j) => j.runAfter <= Date.now() + 1000);
      if (pool.busy === 0 && c.calling === 0 && !readySoon && (await queue.list({ state: 'answered', limit: 1 })).length === 0) break;
    }
    await pool.stop(1000, 'drain');
    const c = await queue.counts();
    // Jobs, not records: a record synced by two runs has two jobs, so these add up to more than the customers.
    io.out(`Jobs in the queue now (every run): ${c.written} written, ${c.skipped} skipped, ${c.failed} failed, ${c.pending} waiting.`);
    return c.failed > 0 ? 1 : 0;
  } finally {
    await connector.close();
  }
}
