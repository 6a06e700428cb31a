import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RateLimiter } from '../pacing/rate-limiter.js';
import type { QueuePort, ViewsPort } from '../store/ports.js';
import { ClusterMetrics } from './cluster-metrics.js';

const P = 'ipaas_openai_';
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
const OPENAI_ENDPOINTS = new Set(['responses', 'chat', 'models', 'files', 'batches']);
const INSTANCE = "This instance's own, since it started (each instance reports its own).";

/** Process metrics (CPU, memory, event loop) once per process: several services in one test process share them. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** What this instance's upstream calls looked like since it started (for the overview page). */
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
 * The service's Prometheus metrics. Attempts, tokens, cost, records and jobs come from the shared
 * database (cluster-metrics.ts), so every instance shows the whole cluster and CLI syncs count too.
 * OpenAI latency and 429s (from the SDK's fetch) and the limiter's gauges are this instance's own.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private summary = { requests: 0, rateLimited: 0, seconds: 0 };
  private readonly m;
  private readonly cluster: ClusterMetrics;
  private src: MetricSources | undefined;
  private refreshing: Promise<void> = Promise.resolve();

  constructor(private readonly openaiBaseUrl: string) {
    const registers = [this.registry];
    this.cluster = new ClusterMetrics(registers);
    this.m = {
      latency: new Histogram({ name: `${P}upstream_request_duration_seconds`, help: `HTTP requests to an upstream API (service: openai; the SDK's own retries each count) until the response headers arrived. ${INSTANCE}`, labelNames: ['service', 'endpoint', 'status'], buckets: LATENCY_BUCKETS, registers }),
      rateLimited: new Counter({ name: `${P}upstream_rate_limited_total`, help: `Upstream answers with status 429 (service: openai; rate limit or quota). ${INSTANCE}`, labelNames: ['service'], registers }),
      headroom: new Gauge({ name: `${P}rate_limit_headroom_ratio`, help: "Share of the OpenAI rate limit still available now (0..1, min of requests and tokens; 1 when no limit is known), as this instance's limiter sees it.", registers }),
      remaining: new Gauge({ name: `${P}rate_limit_remaining`, help: "OpenAI requests/tokens this instance's limiter may still start now (kind: requests, tokens); absent until a limit is known.", labelNames: ['kind'], registers }),
      limit: new Gauge({ name: `${P}rate_limit_limit`, help: "Known OpenAI rate limit (kind: requests, tokens), per minute unless OpenAI reports a longer window, as this instance's limiter knows it.", labelNames: ['kind'], registers }),
      paused: new Gauge({ name: `${P}rate_limit_paused`, help: "1 while this instance's limiter waits out a retry-after, else 0.", registers }),
      concurrency: new Gauge({ name: `${P}limiter_concurrency_limit`, help: "OpenAI calls this instance's limiter allows at once now (halved on 429, grows on success).", registers }),
      inFlight: new Gauge({ name: `${P}limiter_in_flight`, help: 'OpenAI calls this instance has in flight now.', registers }),
    };
    // Series exist from the first scrape, so rate() and alerts see the zeros.
    this.m.rateLimited.inc({ service: 'openai' }, 0);
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
    this.m.latency.observe({ service: 'openai', endpoint: OPENAI_ENDPOINTS.has(first) ? first : 'other', status }, seconds);
    this.summary.requests++;
    this.summary.seconds += seconds;
    if (status === '429') {
      this.m.rateLimited.inc({ service: 'openai' });
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

  /** Brings the counters up to the database and the gauges up to now; scrapes at once take turns. */
  refresh(): Promise<void> {
    const next = this.refreshing.catch(() => undefined).then(() => this.refreshNow());
    this.refreshing = next;
    return next;
  }

  private async refreshNow(): Promise<void> {
    if (!this.src) return;
    await this.cluster.refresh(this.src.queries, this.src.jobs, Date.now());
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
