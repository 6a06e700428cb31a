import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncDeps } from '../app/sync-deps.js';
import { isDeadLocalOwner, leaseOwner } from './lease-owner.js';
import type { PlanCache } from './plan-cache.js';
import { runJob, type ProcessOptions } from './run-job.js';

const QUOTA_PAUSE = 'OpenAI answered insufficient_quota: sending stopped. Add credit or raise the quota, then run `ipaas-openai retry` (or POST /api/retry).';

/** Lifts the quota pause for every process and hands the records it held back to the queue. */
export function resumeAfterQuota(store: SyncDeps['store'], notify?: () => void): number {
  store.pauses.clear('quota');
  const n = store.jobs.releaseHeld('quota', { onlyDue: false });
  notify?.();
  return n;
}

export interface WorkerPoolOptions extends ProcessOptions {
  concurrency: number;
  leaseMs: number;
  /** How often to look for work when nothing wakes the pool. */
  pollMs?: number;
  owner?: string;
}

/**
 * Claims jobs from the durable queue and runs them, at most `concurrency` at
 * a time (the rate limiter may allow fewer calls to start). Leases are
 * extended while jobs run; stop() finishes or hands back what is in flight.
 */
export class WorkerPool {
  readonly owner: string;
  private readonly inFlight = new Map<number, Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private lastHeldCheck = 0;
  /** Aborted by stop(): OpenAI calls in flight end at once instead of being paid for and discarded. */
  private stopping = new AbortController();
  private interrupted = 0;
  /** Called once when OpenAI says the quota is exhausted (the pool has paused itself). */
  onQuotaExhausted: ((message: string) => void) | undefined;

  constructor(
    private readonly deps: SyncDeps,
    private readonly plans: PlanCache,
    private readonly opts: WorkerPoolOptions,
  ) {
    this.owner = opts.owner ?? leaseOwner('worker');
    this.pollMs = opts.pollMs ?? 250;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.stopping.signal.aborted) this.stopping = new AbortController(); // started again after a stop
    this.recoverDeadWorkers();
    this.heartbeat = setInterval(() => {
      if (this.inFlight.size) this.deps.store.jobs.extendLeases(this.owner, [...this.inFlight.keys()], this.opts.leaseMs);
    }, Math.max(50, Math.floor(this.opts.leaseMs / 3)));
    this.heartbeat.unref();
    this.loop = this.run();
  }

  /**
   * After a kill -9 the dead process's leases would block its jobs until they
   * expire. A holder of this host (a worker or a batch applier) whose process no
   * longer exists is certainly dead: hand its jobs back now. Leases of other hosts simply expire.
   */
  private recoverDeadWorkers(): void {
    for (const owner of this.deps.store.jobs.leaseOwners()) {
      if (owner === this.owner || !isDeadLocalOwner(owner)) continue;
      const n = this.deps.store.jobs.releaseDeadOwner(owner);
      this.deps.logger.warn({ owner, jobs: n }, 'recovered the jobs of a lease holder that died');
    }
  }

  /** New work arrived: look now instead of at the next poll. */
  notify(): void {
    this.wake?.();
  }

  get busy(): number {
    return this.inFlight.size;
  }

  isRunning(): boolean {
    return this.running;
  }

  /** Why the pool claims nothing, if it is paused (insufficient_quota). Read from the store: any process may lift it. */
  pausedReason(): string | undefined {
    return this.deps.store.pauses.get('quota')?.reason;
  }

  /** After the quota was raised: lift the pause, hand the held records back and claim again. */
  resume(): number {
    return resumeAfterQuota(this.deps.store, () => this.notify());
  }

  /**
   * Budget-held jobs come back when their period turned, or when the budget
   * has room again (a raised cap after a restart); checked now and then, not per loop.
   */
  private releaseHeldJobs(): void {
    const now = Date.now();
    if (now - this.lastHeldCheck < 1000) return;
    this.lastHeldCheck = now;
    const jobs = this.deps.store.jobs;
    let roomNow = false;
    try {
      this.deps.budget?.check(this.deps.budget.expectedOutputTokens() * 2, 0);
      roomNow = true;
    } catch {
      roomNow = false;
    }
    const n = jobs.releaseHeld('budget', { onlyDue: !roomNow });
    if (n) this.deps.logger.info({ released: n }, 'budget-held records resume');
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.opts.concurrency - this.inFlight.size;
      let claimed = 0;
      const paused = this.pausedReason() !== undefined;
      if (!paused) this.releaseHeldJobs();
      if (free > 0 && !paused) {
        try {
          const jobs = this.deps.store.jobs.claim(this.owner, free, this.opts.leaseMs);
          claimed = jobs.length;
          for (const job of jobs) {
            const p = runJob(this.deps, this.plans, job, { ...this.opts, signal: this.stopping.signal })
              .then((outcome) => {
                if (outcome === 'interrupted') this.interrupted++;
                if (outcome === 'quota-exhausted' && this.deps.store.pauses.set('quota', QUOTA_PAUSE)) {
                  this.deps.logger.error({ jobId: job.id }, QUOTA_PAUSE);
                  this.onQuotaExhausted?.(QUOTA_PAUSE);
                }
              })
              .catch((err) => this.deps.logger.error({ err, jobId: job.id }, 'job processing crashed'))
              .finally(() => {
                this.inFlight.delete(job.id);
                this.wake?.();
              });
            this.inFlight.set(job.id, p);
          }
        } catch (err) {
          this.deps.logger.error({ err }, 'claiming jobs failed');
        }
      }
      if (claimed > 0 && this.inFlight.size < this.opts.concurrency) continue;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        const t = setTimeout(resolve, this.pollMs);
        t.unref();
      });
      this.wake = undefined;
    }
  }

  /**
   * Graceful stop: claim nothing more and hand back what is unfinished. `calls: 'abort'` (serve's
   * SIGTERM) aborts the OpenAI calls in flight at once: their jobs go back to the queue untouched and
   * the SDK sends nothing after them; write-backs of stored answers get `graceMs`. `calls: 'drain'`
   * (an interrupted backfill) first gives the calls `graceMs` to answer, so their answers are stored
   * and not paid for again, then aborts what still hangs.
   */
  async stop(graceMs = 10_000, calls: 'abort' | 'drain' = 'abort'): Promise<{ finished: number; released: number }> {
    this.running = false;
    if (calls === 'abort') this.stopping.abort();
    this.wake?.();
    clearInterval(this.heartbeat);
    await this.loop;
    const pending = [...this.inFlight.values()];
    const before = pending.length;
    const interruptedBefore = this.interrupted;
    await Promise.race([Promise.all(pending), sleep(graceMs, undefined, { ref: false })]);
    if (!this.stopping.signal.aborted) {
      this.stopping.abort();
      // Aborted calls settle within a few turns of the event loop; wait for them (bounded) before handing back.
      await Promise.race([Promise.all([...this.inFlight.values()]), sleep(1_000, undefined, { ref: false })]);
    }
    const released = this.deps.store.jobs.releaseAll(this.owner);
    return { finished: before - this.inFlight.size - (this.interrupted - interruptedBefore), released };
  }
}
