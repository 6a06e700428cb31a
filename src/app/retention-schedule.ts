import type { Logger } from '../shared/logger.js';
import { describeError } from '../shared/errors.js';
import type { BodyCounts, Storage } from '../store/ports.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionSchedule {
  /** One purge now (or the one already running): bodies finished more than `retainDays` ago. */
  run(): Promise<BodyCounts | undefined>;
  /** No more purges; one in progress stops after its current batch. */
  stop(): Promise<void>;
}

export interface RetentionScheduleOptions {
  store: Pick<Storage, 'retention'>;
  logger: Logger;
  /** log.retainDays. */
  retainDays: number;
  now?: () => Date;
  /** Between purges (default a day). */
  everyMs?: number;
}

/**
 * serve's retention: a purge at start, then one a day. The timer does not keep the process alive,
 * and a failed purge is said in the log and tried again at the next run (the purge is idempotent, so
 * several instances sharing one PostgreSQL database may each run it).
 */
export function scheduleRetention(options: RetentionScheduleOptions): RetentionSchedule {
  const { store, logger, retainDays } = options;
  const now = options.now ?? (() => new Date());
  const stopping = new AbortController();
  let running: Promise<BodyCounts | undefined> | undefined;

  const purge = async (): Promise<BodyCounts | undefined> => {
    const started = performance.now();
    const before = new Date(now().getTime() - retainDays * DAY_MS).toISOString();
    try {
      const n = await store.retention.purgeBodies(before, { signal: stopping.signal });
      const ms = Math.round(performance.now() - started);
      logger.info({ retainDays, before, attempts: n.attempts, trials: n.trials, jobs: n.jobs, ms, ...(stopping.signal.aborted ? { stopped: 'shutdown' } : {}) }, 'retention: bodies purged');
      return n;
    } catch (err) {
      const e = describeError(err);
      logger.warn({ retainDays, before, error: e.code, reason: e.message, fix: e.fix }, 'retention: purge failed; tried again at the next run');
      return undefined;
    }
  };
  const run = () => (stopping.signal.aborted ? Promise.resolve(undefined) : (running ??= purge().finally(() => (running = undefined))));

  void run();
  const timer = setInterval(() => void run(), options.everyMs ?? DAY_MS);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
