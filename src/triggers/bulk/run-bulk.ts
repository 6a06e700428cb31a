import { setTimeout as sleep } from 'node:timers/promises';
import type { JobTrigger } from '../../queue/trigger.js';
import { BatchRunner } from '../batch/batch-runner.js';
import { TERMINAL_STATES, type JobState } from '../../queue/job-states.js';
import { PlanCache } from '../../queue/plan-cache.js';
import { WorkerPool } from '../../queue/worker-pool.js';
import type { NewJob } from '../../store/ports.js';
import type { StoredAttempt } from '../../store/ports.js';
import type { SyncDeps } from '../../app/sync-deps.js';
import { describeError } from '../../shared/errors.js';
import { roundUsd } from '../../queue/attempt.js';
import { paramsKey, type BulkParams } from './bulk-params.js';
import { recordPages } from './enumerate-records.js';

export interface BulkProgress {
  runId: string;
  mode: BulkParams['mode'];
  resumed: boolean;
  /** Customers selected (from iPaaS.com's paging; refined as pages arrive). */
  total: number | null;
  enumerated: number;
  enumerationDone: boolean;
  counts: Record<JobState, number>;
  done: number;
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
  elapsedMs: number;
  perSecond: number;
  etaSeconds: number | null;
  openBatches: number;
}

export interface BulkSummary extends BulkProgress {
  finished: boolean;
  interrupted: boolean;
  stoppedReason?: string;
}

export interface BulkRunOptions {
  params: BulkParams;
  pageSize?: number;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: BulkProgress) => void;
  progressEveryMs?: number;
}


/**
 * `sync --all`: streams the account page by page into the durable queue and
 * works it off, directly (paced by the rate limiter) or through OpenAI's Batch
 * API. Memory holds one page; the cursor and every job are in the store, so an
 * interrupted run continues where it stopped and never re-sends a finished record.
 */
export async function runBulk(baseDeps: SyncDeps, options: BulkRunOptions): Promise<BulkSummary> {
  const { params } = options;
  const store = baseDeps.store;
  const key = paramsKey(params);
  const latest = await store.runs.latestRun(key);
  const resumed = latest?.status === 'running';
  const runId = resumed ? latest!.id : latest ? `${key}.${(await store.runs.runCount(key)) + 1}` : key;
  const run = resumed ? latest! : await store.runs.createRun(runId, params.mode, params as unknown as Record<string, unknown>);

  const spend = { inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
  const deps: SyncDeps = {
    ...baseDeps,
    onAttempt: (a: StoredAttempt) => {
      spend.inputTokens += a.inputTokens;
      spend.cachedTokens += a.cachedTokens;
      spend.outputTokens += a.outputTokens;
      spend.costUsd += a.costUsd ?? 0;
      baseDeps.onAttempt?.(a);
    },
  };
  const concurrency = options.concurrency ?? deps.config.jobs.concurrency;
  const plans = new PlanCache(deps);
  await plans.get(params.entity); // "Request field not found." before anything is enumerated or sent
  const pool = new WorkerPool(deps, plans, { concurrency, leaseMs: deps.config.jobs.leaseMs, pollMs: 50, backoff: { baseMs: deps.config.jobs.retryBaseMs, maxMs: deps.config.jobs.retryMaxMs } });
  let stoppedReason: string | undefined;
  pool.onQuotaExhausted = (m) => (stoppedReason = m);
  // Flex records without capacity may fall back into batches of this run: then the batch runner works too.
  const flexToBatch = params.tier === 'flex' && deps.config.openai.flexFallback === 'batch';
  const batches = params.mode === 'batch' || flexToBatch ? new BatchRunner(deps, plans, runId, !!params.force) : undefined;
  const entity = params.entity && params.entity !== 'customer' ? { entity: params.entity } : {};
  const trigger: JobTrigger = params.mode === 'batch' ? { source: 'batch', ...entity } : { source: 'bulk', force: !!params.force, ...(params.tier === 'flex' ? { flex: true } : {}), ...entity };

  let total = run.total;
  let enumerated = run.enumerated;
  let enumerationDone = run.nextPage === -1;
  let enumerationError: unknown;
  const pageSize = options.pageSize ?? 100;
  const highWater = Math.max(concurrency * 4, pageSize * 2);

  const enumerate = async () => {
    if (enumerationDone) return;
    let excluded = 0;
    for await (const page of recordPages(deps.ipaas, params, run.nextPage, pageSize)) {
      const jobs: NewJob[] = page.records.map((c) => ({ ref: c.id, refKind: 'id', customerId: c.key, trigger, priority: 0, maxAttempts: deps.config.jobs.maxAttempts, runId }));
      excluded += page.excluded;
      const selected = page.total === null ? null : page.total - excluded;
      await store.runs.addPage(runId, page.page, jobs, selected);
      total = selected ?? total;
      enumerated += jobs.length;
      pool.notify();
      if (page.last) break;
      // Back-pressure for direct mode: the queue, not memory, holds what waits; keep it a few pages deep.
      while (params.mode === 'direct' && (await store.queue.openInRun(runId)) > highWater && !options.signal?.aborted && !stoppedReason) await sleep(50);
      if (options.signal?.aborted || stoppedReason) return;
    }
    await store.runs.finishEnumeration(runId);
    enumerationDone = true;
  };

  const started = Date.now();
  const countsAtStart = await store.queue.counts(runId);
  const doneAtStart = TERMINAL_STATES.reduce((s, st) => s + countsAtStart[st], 0);
  // The per-state count reads every job of the run (~5 ms at 100,000 jobs, more from disk): asked at most
  // every 50 times its own duration, so it stays near 2 % of the loop however large the run; the loop's
  // "is it done?" always looks again before it believes a count that says so.
  let counted: { counts: Awaited<ReturnType<typeof store.queue.counts>>; at: number; costMs: number } | undefined;
  /** Whether the last progress read the counts afresh (not the ones kept from before). */
  let countedAfresh = false;
  const countNow = async (fresh: boolean) => {
    countedAfresh = fresh || !counted || Date.now() - counted.at >= Math.max(100, counted.costMs * 50);
    if (!countedAfresh) return counted!.counts;
    const t = performance.now();
    const counts = await store.queue.counts(runId);
    counted = { counts, at: Date.now(), costMs: performance.now() - t };
    return counts;
  };
  const progress = async (fresh = true): Promise<BulkProgress> => {
    const counts = await countNow(fresh);
    const done = TERMINAL_STATES.reduce((s, st) => s + counts[st], 0);
    const elapsedMs = Date.now() - started;
    const perSecond = elapsedMs > 0 ? ((done - doneAtStart) * 1000) / elapsedMs : 0;
    const remaining = total === null ? null : Math.max(0, total - done);
    return {
      runId, mode: params.mode, resumed, total, enumerated, enumerationDone, counts, done, ...spend, elapsedMs, perSecond,
      etaSeconds: remaining !== null && perSecond > 0 ? remaining / perSecond : null,
      openBatches: batches ? (await store.runs.openBatches(runId)).length : 0,
    };
  };

  // The filter's field names, not its values (an --filter EmailAddress=... is a customer's value).
  const selects = { since: params.since, filterFields: params.filter ? Object.keys(params.filter) : undefined, where: params.where ? 'formula' : undefined, force: params.force, tier: params.tier };
  deps.logger.info({ runId, mode: params.mode, resumed, total: run.total, done: doneAtStart, ...selects }, resumed ? 'bulk run resumed' : 'bulk run started');
  await pool.start();
  const enumeration = enumerate().catch((err) => (enumerationError = err));
  let lastReport = 0;
  let finished = false;
  try {
    for (;;) {
      if (options.signal?.aborted || stoppedReason || enumerationError) break;
      if (batches) {
        try {
          const waiting = await store.queue.countForBatch(runId, deps.config.batch.maxLinesPerFile);
          // Fill files: submit when a file is full, or when nothing more is coming.
          if (waiting && (enumerationDone || waiting >= deps.config.batch.maxLinesPerFile)) await batches.submit();
          await batches.poll();
        } catch (err) {
          const e = describeError(err);
          deps.logger.warn({ error: e.message }, 'batch step failed');
          if (!e.retryable) stoppedReason = `${e.message}${e.fix ? ` ${e.fix}` : ''}`;
          else await sleep(deps.config.batch.pollMinMs);
        }
      }
      let p = await progress(false);
      if (enumerationDone && openIn(p) === 0 && !countedAfresh) p = await progress(true);
      if (options.onProgress && countedAfresh && Date.now() - lastReport >= (options.progressEveryMs ?? 250)) {
        lastReport = Date.now();
        options.onProgress(p);
      }
      const open = openIn(p);
      if (enumerationDone && open === 0) {
        finished = p.counts.held === 0;
        if (!finished) stoppedReason = `${p.counts.held} records are held by the budget; they resume in the next period or when the cap is raised (run again to continue).`;
        break;
      }
      await sleep(batches ? Math.min(250, deps.config.batch.pollMinMs) : 100);
    }
  } finally {
    // An interrupted backfill lets the calls in flight answer (stored, never paid again), then aborts.
    await pool.stop(5_000, 'drain');
    await enumeration;
  }
  if (enumerationError) throw enumerationError;
  let last = await progress();
  // Stopped as the last records answered: nothing is left to continue, so the run is finished, not interrupted.
  const aborted = !!options.signal?.aborted;
  if (aborted && !finished && enumerationDone && !stoppedReason && last.counts.pending + last.counts.calling + last.counts.answered + last.counts.batched + last.counts.held === 0) finished = true;
  const interrupted = aborted && !finished;
  if (finished) {
    await store.runs.finishRun(runId);
    last = await progress();
  }
  const ended = { runId, mode: params.mode, total: last.total, ...last.counts, inputTokens: last.inputTokens, outputTokens: last.outputTokens, costUsd: roundUsd(last.costUsd), elapsedMs: last.elapsedMs };
  if (finished) deps.logger.info(ended, 'bulk run finished');
  else deps.logger.warn({ ...ended, reason: interrupted ? 'interrupted (run again to continue)' : stoppedReason }, interrupted ? 'bulk run interrupted' : 'bulk run stopped');
  options.onProgress?.(last);
  return { ...last, finished, interrupted, ...(stoppedReason ? { stoppedReason } : {}) };
}

/** Jobs of the run still on their way (held ones wait for the budget or the quota instead). */
const openIn = (p: BulkProgress) => p.counts.pending + p.counts.calling + p.counts.answered + p.counts.batched;
