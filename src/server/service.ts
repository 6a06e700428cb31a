import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from '../config/load-config.js';
import { PlanCache } from '../queue/plan-cache.js';
import { selectCollections } from '../mapping/collections.js';
import { defaultFetch } from '../openai/openai-client.js';
import { WorkerPool } from '../queue/worker-pool.js';
import type { Logger } from '../shared/logger.js';
import { openConnector, rateLimiterFor } from '../app/connector.js';
import { scheduleRetention } from '../app/retention-schedule.js';
import { describeError } from '../shared/errors.js';
import { isLoopbackHost } from './auth.js';
import { buildApp } from './build-app.js';
import { ServiceMetrics } from './metrics.js';
import { QueueHistory } from './queue-history.js';
import { storeWatch } from './routes-health.js';
import type { ServiceContext } from './service-context.js';
import { TrialRunner } from './trial-runner.js';

export interface RunningService {
  url: string;
  app: FastifyInstance;
  ctx: ServiceContext;
  /** True when the admin token was generated at start (the operator has to be told it). */
  generatedAdminToken: boolean;
  /**
   * Resolves with the store's fatal fault (SQLite: disk full, read-only, damaged), if one comes;
   * from then on intake answers 503 and the owner should stop and exit non-zero.
   */
  faulted: Promise<Error>;
  stop(graceMs?: number): Promise<{ finished: number; released: number }>;
}

export interface StartServiceOptions {
  logger?: Logger;
  /** Start the workers (default true); tests of intake alone can leave them off. */
  workers?: boolean;
  fetch?: typeof fetch;
  /** Start afresh where the database that held acknowledged work vanished (--fresh). */
  fresh?: boolean;
}

/** `ipaas-openai serve`: one process with the HTTP server and the workers, sharing the store and the rate limiter. */
/** The event-loop lag above which serve's workers take fewer jobs, so a webhook is acknowledged within ~20 ms. */
const INTAKE_LOOP_LAG_MS = 8;
/** How often serve checks its store by itself. */
const STORE_CHECK_MS = 5_000;

export async function startService(loaded: LoadedConfig, options: StartServiceOptions = {}): Promise<RunningService> {
  const { config } = loaded;
  // Ambiguous mappings (two enabled collections writing one field) are refused before anything listens.
  selectCollections(config);
  const generatedAdminToken = !config.server.adminToken;
  const adminToken = config.server.adminToken ?? randomBytes(24).toString('base64url');
  const limiter = rateLimiterFor(config, config.jobs.concurrency);
  const metrics = new ServiceMetrics(config.openai.baseUrl);
  const connector = await openConnector({ ...loaded, secrets: [...loaded.secrets, adminToken] }, {
    ...(options.logger ? { logger: options.logger } : {}),
    // The OpenAI SDK's requests go through it: each is timed, the SDK's own retries included.
    fetch: metrics.instrumentFetch(options.fetch ?? defaultFetch),
    limiter,
    ...(options.fresh ? { fresh: true } : {}),
  });
  const deps = { ...connector, limiter };
  const queries = connector.store.views;
  metrics.watch({ jobs: connector.store.queue, limiter, queries });
  const queueHistory = new QueueHistory(connector.store.queue);
  const plans = new PlanCache(deps);
  const pool = new WorkerPool(deps, plans, {
    concurrency: config.jobs.concurrency,
    leaseMs: config.jobs.leaseMs,
    backoff: { baseMs: config.jobs.retryBaseMs, maxMs: config.jobs.retryMaxMs },
    // Webhook acknowledgements first: iPaaS.com redelivers what it thinks timed out.
    maxLoopLagMs: INTAKE_LOOP_LAG_MS,
  });
  const ctx: ServiceContext = {
    deps, plans, pool, adminToken, adminTokenGenerated: generatedAdminToken, loopbackOnly: isLoopbackHost(config.server.host), startedAt: new Date(), queries, metrics, queueHistory,
    trials: new TrialRunner(deps),
    watchStore: storeWatch({ deps }),
    storeFault: undefined,
  };
  const faulted = new Promise<Error>((resolve) => {
    connector.store.onFault?.((fault) => {
      ctx.storeFault = fault;
      const e = describeError(fault);
      connector.logger.error({ store: connector.store.location, error: e.code, reason: e.message, fix: e.fix }, 'the store cannot write any more; nothing more is acknowledged');
      resolve(fault);
    });
  });
  const app = await buildApp(ctx);
  let url: string;
  try {
    url = await app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await connector.close();
    throw err;
  }
  if (options.workers !== false) await pool.start();
  queueHistory.start();
  // A deleted database file or a lost PostgreSQL is said in the log within seconds, probed or not.
  const storeTimer = setInterval(() => void ctx.watchStore(), STORE_CHECK_MS);
  storeTimer.unref();
  // Request and response bodies older than log.retainDays go, at start and then daily; the ledger stays.
  const retention = scheduleRetention({ store: connector.store, logger: connector.logger, retainDays: config.log.retainDays, now: connector.now });
  connector.logger.info({ url, concurrency: config.jobs.concurrency, instance: connector.instance, store: connector.store.location }, 'service started');
  let stopped: Promise<{ finished: number; released: number }> | undefined;
  return {
    url,
    app,
    ctx,
    generatedAdminToken,
    faulted,
    // Idempotent: a second SIGTERM (or a test's cleanup) waits for the same stop.
    stop(graceMs = 10_000) {
      return (stopped ??= (async () => {
        // Stop taking webhooks first, then let the workers finish or hand back their jobs.
        await app.close();
        clearInterval(storeTimer);
        await retention.stop();
        queueHistory.stop();
        await ctx.trials.stop();
        let result = { finished: 0, released: 0 };
        try {
          result = await pool.stop(graceMs);
        } catch (err) {
          // A store that cannot write cannot take the jobs back either: their leases run out instead, and the
          // next start on this host takes them back at once. The store still has to be closed.
          connector.logger.error({ err: describeError(err).message }, 'handing the jobs in flight back failed; they come back when their leases run out');
        }
        connector.logger.info(result, 'service stopped');
        await connector.close();
        return result;
      })());
    },
  };
}
