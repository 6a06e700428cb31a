import type { PlanCache } from '../queue/plan-cache.js';
import type { WorkerPool } from '../queue/worker-pool.js';
import type { ViewsPort } from '../store/ports.js';
import type { SyncDeps } from '../app/sync-deps.js';
import type { ServiceMetrics } from './metrics.js';
import type { QueueHistory } from './queue-history.js';
import type { TrialRunner } from './trial-runner.js';

/** What the HTTP routes share with the workers. */
export interface ServiceContext {
  deps: SyncDeps & { limiter: NonNullable<SyncDeps['limiter']> };
  plans: PlanCache;
  pool: WorkerPool;
  adminToken: string;
  /** True when no admin token was configured and one was made at start. */
  adminTokenGenerated: boolean;
  /** True when the service listens on loopback only (reads need no token then). */
  loopbackOnly: boolean;
  startedAt: Date;
  /** Read-only queries over the sync log for the dashboard and /metrics. */
  queries: ViewsPort;
  metrics: ServiceMetrics;
  queueHistory: QueueHistory;
  /** Prompt-lab trials started through the API, one at a time, in the background. */
  trials: TrialRunner;
  /**
   * The store's fatal fault, once there was one (a full or read-only disk, a damaged file): nothing
   * more is acknowledged (503), and serve is on its way out.
   */
  storeFault: Error | undefined;
  /** Checks the store and logs when it starts or stops failing (routes-health.ts: storeWatch). */
  watchStore: () => Promise<{ check: { ok: boolean; detail?: string; fix?: string }; queue: Record<import('../queue/job-states.js').JobState, number> | undefined }>;
}
