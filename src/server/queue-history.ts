import { ACTIVE_STATES } from '../queue/job-states.js';
import type { QueuePort } from '../store/ports.js';

/** Jobs waiting or in flight; held and finished jobs are not. */
export function queueDepth(counts: Record<string, number>): number {
  return (counts.pending ?? 0) + ACTIVE_STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}

export interface QueueSample {
  at: number;
  /** Waiting (pending) plus in flight (calling, in a batch, answered). */
  depth: number;
  failed: number;
}

/**
 * Queue depth over time. The jobs table keeps only each job's current state, so depth in the
 * past cannot be queried afterwards: the service samples it while it runs (every `everyMs`,
 * kept for `keepMs`) and the overview chart draws what was seen.
 */
export class QueueHistory {
  private readonly samples: QueueSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly jobs: QueuePort,
    private readonly everyMs = 10_000,
    private readonly keepMs = 7 * 24 * 3600_000,
  ) {}

  start(): void {
    if (this.timer) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Never rejects: a store that cannot answer now leaves a gap in the chart, not a crash. */
  async sample(now = Date.now()): Promise<QueueSample | undefined> {
    let c;
    try {
      c = await this.jobs.counts();
    } catch {
      return undefined;
    }
    const s = { at: now, depth: queueDepth(c), failed: c.failed };
    this.samples.push(s);
    const cutoff = now - this.keepMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop]!.at < cutoff) drop++;
    if (drop) this.samples.splice(0, drop);
    return s;
  }

  /** The highest depth seen in each bucket; null where the service was not running. */
  series(since: number, bucketMs: number, buckets: number): Array<number | null> {
    const out = new Array<number | null>(buckets).fill(null);
    for (const s of this.samples) {
      const b = Math.floor((s.at - since) / bucketMs);
      if (b >= 0 && b < buckets) out[b] = Math.max(out[b] ?? 0, s.depth);
    }
    return out;
  }
}
