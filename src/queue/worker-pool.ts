import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncDeps } from '../app/sync-deps.js';
import { isDeadLocalOwner, leaseOwner } from './lease-owner.js';
import type { PlanCache } from './plan-cache.js';
import { LagGovernor, LoopLag } from '../pacing/loop-lag.js';
import { runJob, type ProcessOptions } from './run-job.js';

const QUOTA_PAUSE = 'OpenAI answered insufficient_quota: sending stopped. Add credit or raise the quota, then run `ipaas-openai retry` (or POST /api/retry).';

/** Lifts the quota pause for every process and hands the records it held back to the queue. */
export async function resumeAfterQuota(store: SyncDeps['store'], notify?: () => void): Promise<number> {
  await store.pauses.clear('quota');
  const n = await store.queue.releaseHeld('quota', { onlyDue: false });
  notify?.();
  return n;
}

export interface WorkerPoolOptions extends ProcessOptions {
  concurrency: number;
  leaseMs: number;
  /** How often to look for work when nothing wakes the pool. */
  pollMs?: number;
  owner?: string;
  /**
   * Keep the event loop responsive for other work in this process (serve's webhook intake): fewer
   * jobs in flight while the loop runs later than this many milliseconds.
   */
  maxLoopLagMs?: number;
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
  private ready: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly pollMs: number;
  private lastHeldCheck = 0;
  /** The quota pause as last read from the store (any process may set or lift it). */
  private paused: string | undefined;
  private lastPauseCheck = 0;
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
    if (opts.maxLoopLagMs !== undefined) {
      this.lag = new LoopLag();
      this.governor = new LagGovernor(this.lag, opts.concurrency, opts.maxLoopLagMs);
    }
  }

  private readonly lag: LoopLag | undefined;
  private readonly governor: LagGovernor | undefined;

  /** Starts the loop; resolves once dead holders' jobs are recovered and due held jobs released (the first claim can see them). */
  start(): Promise<void> {
    if (this.running) return this.ready;
    this.running = true;
    if (this.stopping.signal.aborted) this.stopping = new AbortController(); // started again after a stop
    this.lag?.start();
    this.heartbeat = setInterval(() => {
      if (this.inFlight.size) {
        this.deps.store.queue.extendLeases(this.owner, [...this.inFlight.keys()], this.opts.leaseMs).catch((err) => this.deps.logger.error({ err }, 'extending leases failed'));
      }
    }, Math.max(50, Math.floor(this.opts.leaseMs / 3)));
    this.heartbeat.unref();
    this.ready = this.recoverDeadWorkers()
      .then(() => this.releaseHeldJobs())
      .catch((err) => this.deps.logger.error({ err }, 'recovering dead lease holders or held jobs failed'));
    this.loop = this.ready.then(() => this.run());
    return this.ready;
  }

  /**
   * After a kill -9 the dead process's leases would block its jobs until they
   * expire. A holder of this host (a worker or a batch applier) whose process no
   * longer exists is certainly dead: hand its jobs back now. Leases of other hosts simply expire.
   */
  private async recoverDeadWorkers(): Promise<void> {
    for (const owner of await this.deps.store.queue.leaseOwners()) {
      if (owner === this.owner || !isDeadLocalOwner(owner)) continue;
      const n = await this.deps.store.queue.releaseDeadOwner(owner);
      this.deps.logger.warn({ owner, jobs: n }, 'recovered the jobs of a lease holder that died');
    }
  }

  private async handBack(jobId: number): Promise<void> {
    const deadline = Date.now() + this.opts.leaseMs;
    for (let wait = 250; Date.now() < deadline; wait = Math.min(wait * 2, 5_000)) {
      try {
        await this.deps.store.queue.releaseJob(this.owner, jobId);
        this.wake?.();
        return;
      } catch {
        await sleep(wait, undefined, { ref: false });
      }
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
  async pausedReason(): Promise<string | undefined> {
    this.paused = (await this.deps.store.pauses.get('quota'))?.reason;
    this.lastPauseCheck = Date.now();
    return this.paused;
  }

  /** After the quota was raised: lift the pause, hand the held records back and claim again. */
  async resume(): Promise<number> {
    const n = await resumeAfterQuota(this.deps.store, () => this.notify());
    this.paused = undefined;
    return n;
  }

  /** The pause, re-read from the store at most every 250 ms (so `retry` elsewhere resumes this pool within a second). */
  private async isPaused(): Promise<boolean> {
    if (Date.now() - this.lastPauseCheck >= 250) await this.pausedReason();
    return this.paused !== undefined;
  }

  /**
   * Budget-held jobs come back when their period turned, or when the budget
   * has room again (a raised cap after a restart); checked now and then, not per loop.
   */
  private async releaseHeldJobs(): Promise<void> {
    const now = Date.now();
    if (now - this.lastHeldCheck < 1000) return;
    this.lastHeldCheck = now;
    const jobs = this.deps.store.queue;
    let roomNow = false;
    try {
      this.deps.budget?.check(this.deps.budget.expectedOutputTokens() * 2, 0);
      roomNow = true;
    } catch {
      roomNow = false;
    }
    const n = await jobs.releaseHeld('budget', { onlyDue: !roomNow });
    if (n) this.deps.logger.info({ released: n }, 'budget-held records resume');
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = (this.governor?.limit() ?? this.opts.concurrency) - this.inFlight.size;
      let claimed = 0;
      let paused = false;
      try {
        paused = await this.isPaused();
        if (!paused) await this.releaseHeldJobs();
      } catch (err) {
        this.deps.logger.error({ err }, 'reading the pause or the held jobs failed');
      }
      if (free > 0 && !paused && this.running) {
        try {
          const jobs = await this.deps.store.queue.claim(this.owner, free, this.opts.leaseMs);
          claimed = jobs.length;
          for (const job of jobs) {
            const p = runJob(this.deps, this.plans, job, { ...this.opts, signal: this.stopping.signal })
              .then(async (outcome) => {
                if (outcome === 'interrupted') this.interrupted++;
                if (outcome === 'quota-exhausted') {
                  this.paused = QUOTA_PAUSE;
                  if (await this.deps.store.pauses.set('quota', QUOTA_PAUSE)) {
                    this.deps.logger.error({ jobId: job.id }, QUOTA_PAUSE);
                    this.onQuotaExhausted?.(QUOTA_PAUSE);
                  }
                }
              })
              .catch((err) => {
                this.deps.logger.error({ err, jobId: job.id }, 'job processing crashed');
                // Most often the store stopped answering mid-way: hand the job back as soon as it answers
                // again, instead of leaving it leased (and waiting) until the lease runs out.
                void this.handBack(job.id);
              })
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
      if (claimed > 0 && this.inFlight.size < (this.governor?.limit() ?? this.opts.concurrency)) continue;
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
    this.lag?.stop();
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
    const released = await this.deps.store.queue.releaseAll(this.owner);
    return { finished: before - this.inFlight.size - (this.interrupted - interruptedBefore), released };
  }
}
