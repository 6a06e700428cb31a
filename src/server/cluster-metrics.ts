import { Counter, Gauge, type Registry } from 'prom-client';
import { JOB_STATES } from '../queue/job-states.js';
import { ATTEMPT_OUTCOMES, type AttemptOutcome, type AttemptTotals, type QueuePort, type ViewsPort } from '../store/ports.js';
import { queueDepth } from './queue-history.js';

const P = 'ipaas_openai_';
/** Attempts finished this long ago are added up once; younger ones are re-read at every scrape. */
export const SETTLE_MS = 5 * 60_000;
const CLUSTER = 'Read from the shared database: the same on every instance.';

type Sums = Omit<AttemptTotals, 'outcome'>;
const zero = (): Sums => ({ count: 0, inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 });

/**
 * The metrics every instance reads from the database they share, so any one of them shows the whole
 * cluster: attempts, tokens and cost from the sync log, records by their latest attempt, jobs by state.
 * The log only grows, so its totals are counters: attempts older than a few minutes are added up once
 * (by id), the rest are re-read each scrape (with several writers a younger id may commit late).
 */
export class ClusterMetrics {
  private settledId = 0;
  private readonly settled = new Map<AttemptOutcome, Sums>();
  private readonly m;

  constructor(registers: Registry[]) {
    this.m = {
      attempts: new Counter({ name: `${P}attempts_total`, help: `Sync attempts (tries at one record) by outcome: synced, skipped, failed (final: dead-lettered or not retryable), retrying (failed, tried again later). ${CLUSTER}`, labelNames: ['outcome'], registers }),
      tokens: new Counter({ name: `${P}tokens_total`, help: `OpenAI tokens used by sync attempts (kind: input, cached (part of input), output). ${CLUSTER}`, labelNames: ['kind'], registers }),
      cost: new Counter({ name: `${P}cost_usd_total`, help: `Cost of the OpenAI calls of sync attempts, in US dollars (from the price table). ${CLUSTER}`, registers }),
      records: new Gauge({ name: `${P}records`, help: `Records (customers), each counted once by the outcome of its latest attempt (retrying: its latest try failed and will be tried again). ${CLUSTER}`, labelNames: ['outcome'], registers }),
      jobs: new Gauge({ name: `${P}queue_jobs`, help: `Jobs in the durable queue by state (one job per record per run; a record synced by two runs has two jobs). ${CLUSTER}`, labelNames: ['state'], registers }),
      depth: new Gauge({ name: `${P}queue_depth_jobs`, help: `Jobs waiting or in flight (pending, calling, in a batch, answered). ${CLUSTER}`, registers }),
    };
    this.expose([]);
  }

  async refresh(views: ViewsPort, queue: QueuePort, now: number): Promise<void> {
    const mark = await views.settledAttemptId(new Date(now - SETTLE_MS).toISOString());
    if (mark > this.settledId) {
      for (const r of await views.attemptTotals(this.settledId, mark)) add(this.settled, r);
      this.settledId = mark;
    }
    const [tail, records, counts] = await Promise.all([views.attemptTotals(this.settledId), views.recordCounts(), queue.counts()]);
    this.expose(tail);
    for (const outcome of ATTEMPT_OUTCOMES) this.m.records.set({ outcome }, records[outcome]);
    for (const state of JOB_STATES) this.m.jobs.set({ state }, counts[state]);
    this.m.depth.set(queueDepth(counts));
  }

  /** Counters are set to the settled sums plus the tail (never lower than before: the log only grows). */
  private expose(tail: AttemptTotals[]): void {
    const sums = new Map([...this.settled].map(([k, v]) => [k, { ...v }]));
    for (const r of tail) add(sums, r);
    const total = zero();
    for (const m of [this.m.attempts, this.m.tokens, this.m.cost]) m.reset();
    for (const outcome of ATTEMPT_OUTCOMES) {
      const s = sums.get(outcome) ?? zero();
      this.m.attempts.inc({ outcome }, s.count);
      for (const k of ['inputTokens', 'cachedTokens', 'outputTokens', 'costUsd'] as const) total[k] += s[k];
    }
    this.m.tokens.inc({ kind: 'input' }, total.inputTokens);
    this.m.tokens.inc({ kind: 'cached' }, total.cachedTokens);
    this.m.tokens.inc({ kind: 'output' }, total.outputTokens);
    this.m.cost.inc(total.costUsd);
  }
}

function add(into: Map<AttemptOutcome, Sums>, r: AttemptTotals): void {
  const s = into.get(r.outcome) ?? zero();
  s.count += r.count;
  s.inputTokens += r.inputTokens;
  s.cachedTokens += r.cachedTokens;
  s.outputTokens += r.outputTokens;
  s.costUsd += r.costUsd;
  into.set(r.outcome, s);
}
