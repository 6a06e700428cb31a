import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { JOB_STATES } from '../queue/job-states.js';
import type { RateLimiter } from '../pacing/rate-limiter.js';
import type { ViewsPort } from '../store/ports.js';
import type { QueuePort } from '../store/ports.js';
import { queueDepth } from './queue-history.js';

const P = 'ipaas_openai_';
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
const OPENAI_ENDPOINTS = new Set(['responses', 'chat', 'models', 'files', 'batches']);

/** Process metrics (CPU, memory, event loop) once per process: several services in one test process share them. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What the service's upstream calls looked like since it started (for the overview page). */
export interface UpstreamSummary {
  openaiRequests: number;
  openaiRateLimited: number;
  openaiMeanLatencyMs: number | null;
}

export interface MetricSources {
  jobs: QueuePort;
  limiter: RateLimiter;
  queries: ViewsPort;
}

const urlOf = (input: Parameters<typeof fetch>[0]): string => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);

/**
 * The service's Prometheus metrics. Records, tokens and cost come from the sync log (so syncs
 * run by the CLI against the same database count too); OpenAI latency and 429s from the SDK's
 * fetch; queue depth and rate-limit headroom are read at scrape time.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private lastAttemptId = 0;
  private summary = { requests: 0, rateLimited: 0, seconds: 0 };
  private readonly m;
  private src: MetricSources | undefined;

  constructor(private readonly openaiBaseUrl: string) {
    const registers = [this.registry];
    this.m = {
      records: new Counter({ name: `${P}records_total`, help: 'Sync attempts by outcome, as recorded in the sync log.', labelNames: ['outcome'], registers }),
      tokens: new Counter({ name: `${P}openai_tokens_total`, help: 'OpenAI tokens used by sync attempts (kind: input, cached (part of input), output).', labelNames: ['kind'], registers }),
      cost: new Counter({ name: `${P}openai_cost_usd_total`, help: 'Cost of the OpenAI calls of sync attempts, in US dollars (from the price table).', registers }),
      openaiLatency: new Histogram({ name: `${P}openai_request_duration_seconds`, help: 'OpenAI HTTP requests (SDK retries included) until the response headers arrived.', labelNames: ['endpoint', 'status'], buckets: LATENCY_BUCKETS, registers }),
      rateLimited: new Counter({ name: `${P}openai_rate_limited_total`, help: 'OpenAI answers with status 429 (rate limit or quota).', registers }),
      jobs: new Gauge({ name: `${P}queue_jobs`, help: 'Jobs in the durable queue by state.', labelNames: ['state'], registers }),
      depth: new Gauge({ name: `${P}queue_depth`, help: 'Jobs waiting or in flight (pending, calling, in a batch, answered).', registers }),
      headroom: new Gauge({ name: `${P}rate_limit_headroom_ratio`, help: 'Share of the OpenAI rate limit still available now (0..1, min of requests and tokens; 1 when no limit is known).', registers }),
      remaining: new Gauge({ name: `${P}rate_limit_remaining`, help: 'OpenAI requests/tokens the limiter may still start now (kind: requests, tokens); absent until a limit is known.', labelNames: ['kind'], registers }),
      limit: new Gauge({ name: `${P}rate_limit_limit`, help: 'Known OpenAI rate limit (kind: requests, tokens), per minute unless OpenAI reports a longer window.', labelNames: ['kind'], registers }),
      concurrency: new Gauge({ name: `${P}openai_concurrency_limit`, help: 'OpenAI calls the limiter allows at once now (halved on 429, grows on success).', registers }),
      inFlight: new Gauge({ name: `${P}openai_in_flight`, help: 'OpenAI calls in flight now.', registers }),
      paused: new Gauge({ name: `${P}rate_limit_paused`, help: '1 while the limiter waits out a retry-after, else 0.', registers }),
    };
    // Series exist from the first scrape, so rate() and alerts see the zeros.
    for (const outcome of ['synced', 'skipped', 'failed']) this.m.records.inc({ outcome }, 0);
    for (const kind of ['input', 'cached', 'output']) this.m.tokens.inc({ kind }, 0);
    this.m.cost.inc(0);
    this.m.rateLimited.inc(0);
  }

  /** Wraps the fetch the OpenAI SDK uses, to time every request it sends (its own retries included). */
  instrumentFetch(inner: typeof fetch): typeof fetch {
    return async (input, init) => {
      const url = urlOf(input);
      const started = performance.now();
      let status = 'error';
      try {
        const res = await inner(input, init);
        status = String(res.status);
        return res;
      } finally {
        this.observe(url, status, (performance.now() - started) / 1000);
      }
    };
  }

  private observe(url: string, status: string, seconds: number): void {
    if (!url.startsWith(this.openaiBaseUrl)) return;
    const first = url.slice(this.openaiBaseUrl.length).replace(/^\/+/, '').split(/[/?]/)[0] ?? '';
    this.m.openaiLatency.observe({ endpoint: OPENAI_ENDPOINTS.has(first) ? first : 'other', status }, seconds);
    this.summary.requests++;
    this.summary.seconds += seconds;
    if (status === '429') {
      this.m.rateLimited.inc();
      this.summary.rateLimited++;
    }
  }

  upstreamSummary(): UpstreamSummary {
    const s = this.summary;
    return { openaiRequests: s.requests, openaiRateLimited: s.rateLimited, openaiMeanLatencyMs: s.requests ? Math.round((s.seconds / s.requests) * 1000) : null };
  }

  /** Where scrapes read the sync log, the queue and the limiter (they exist only once the store is open). */
  watch(src: MetricSources): void {
    this.src = src;
  }

  /** Brings the counters up to the sync log and the gauges up to now. */
  async refresh(): Promise<void> {
    if (!this.src) return;
    const { maxId, rows } = await this.src.queries.totalsAfter(this.lastAttemptId);
    for (const r of rows) {
      this.m.records.inc({ outcome: r.outcome }, r.count);
      this.m.tokens.inc({ kind: 'input' }, r.inputTokens);
      this.m.tokens.inc({ kind: 'cached' }, r.cachedTokens);
      this.m.tokens.inc({ kind: 'output' }, r.outputTokens);
      this.m.cost.inc(r.costUsd);
    }
    this.lastAttemptId = maxId;

    const counts = await this.src.jobs.counts();
    for (const state of JOB_STATES) this.m.jobs.set({ state }, counts[state]);
    this.m.depth.set(queueDepth(counts));

    const snap = this.src.limiter.snapshot();
    this.m.headroom.set(snap.headroom);
    this.m.concurrency.set(snap.concurrency);
    this.m.inFlight.set(snap.inFlight);
    this.m.paused.set(snap.pausedUntil ? 1 : 0);
    if (snap.remainingRequests !== undefined) this.m.remaining.set({ kind: 'requests' }, snap.remainingRequests);
    if (snap.remainingTokens !== undefined) this.m.remaining.set({ kind: 'tokens' }, snap.remainingTokens);
    if (snap.rpmLimit !== undefined) this.m.limit.set({ kind: 'requests' }, snap.rpmLimit);
    if (snap.tpmLimit !== undefined) this.m.limit.set({ kind: 'tokens' }, snap.tpmLimit);
  }

  /** The Prometheus text exposition (format 0.0.4). */
  async render(): Promise<{ contentType: string; body: string }> {
    await this.refresh();
    const merged = Registry.merge([this.registry, processMetrics()]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }
}
