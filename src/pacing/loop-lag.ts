/**
 * How late the event loop runs timers now: a short timer's drift, smoothed. `serve` shares one loop
 * between the webhook intake and the workers; when the loop lags, the workers take fewer jobs so
 * that acknowledgements (which iPaaS.com times out and redelivers) never queue behind them.
 */
export class LoopLag {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private smoothed = 0;

  constructor(private readonly intervalMs = 10) {}

  start(): void {
    if (this.timer) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const drift = Math.max(0, now - this.last - this.intervalMs);
      this.last = now;
      // Quick to rise, slower to fall: one long turn is news, one short one is not yet calm.
      this.smoothed = drift > this.smoothed ? drift : this.smoothed * 0.7 + drift * 0.3;
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Milliseconds the loop is running late (0 when idle or not started). */
  get ms(): number {
    return this.smoothed;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.smoothed = 0;
  }
}

/**
 * The workers' share of the loop: halves the jobs in flight while the loop lags more than `maxLagMs`,
 * adds one back while it is well below (AIMD, as the rate limiter does for 429s). It starts small and
 * doubles while the loop stays calm (TCP's slow start): a fresh process runs its first jobs on cold,
 * unoptimised code, and taking all `max` at once held webhook acknowledgements for over a second.
 */
export class LagGovernor {
  private allowed: number;
  private lastChange = -Infinity;
  /** Until the loop first lags: grow by doubling, not by one. */
  private slowStart = true;

  constructor(
    private readonly lag: { readonly ms: number },
    private readonly max: number,
    private readonly maxLagMs: number,
    private readonly now: () => number = () => performance.now(),
    initial = 2,
  ) {
    this.allowed = Math.max(1, Math.min(max, initial));
  }

  /** How many jobs may be in flight now. */
  limit(): number {
    const t = this.now();
    const lag = this.lag.ms;
    if (lag > this.maxLagMs && t - this.lastChange >= 50) {
      this.slowStart = false;
      this.allowed = Math.max(1, Math.floor(this.allowed / 2));
      this.lastChange = t;
    } else if (lag < this.maxLagMs / 2 && this.allowed < this.max) {
      if (this.slowStart && t - this.lastChange >= 50) {
        this.allowed = Math.min(this.max, this.allowed * 2);
        this.lastChange = t;
      } else if (!this.slowStart && t - this.lastChange >= 20) {
        this.allowed += 1;
        this.lastChange = t;
      }
    }
    return this.allowed;
  }
}
