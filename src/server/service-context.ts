import type { PlanCache } from '../jobs/plan-cache.js';
import type { WorkerPool } from '../jobs/worker-pool.js';
import type { SyncDeps } from '../sync/sync-deps.js';

/** What the HTTP routes share with the workers. */
export interface ServiceContext {
  deps: SyncDeps & { limiter: NonNullable<SyncDeps['limiter']> };
  plans: PlanCache;
  pool: WorkerPool;
  adminToken: string;
  /** True when the service listens on loopback only (reads need no token then). */
  loopbackOnly: boolean;
  startedAt: Date;
}
