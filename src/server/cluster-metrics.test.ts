import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { newAttempt } from '../queue/attempt.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { ClusterMetrics, SETTLE_MS } from './cluster-metrics.js';

const NOW = Date.parse('2026-05-01T12:00:00.000Z');
let store: SqliteStore;
afterEach(() => store?.close());

function log(minutesAgo: number, outcome: 'synced' | 'failed', fields: { nextTryAt?: string; tokens?: number } = {}) {
  const at = new Date(NOW - minutesAgo * 60_000).toISOString();
  const a = newAttempt({ customerNumber: `C-${minutesAgo}` }, { source: 'manual' }, at);
  Object.assign(a, { finishedAt: at, outcome, inputTokens: fields.tokens ?? 0, costUsd: fields.tokens ? fields.tokens / 1000 : null, nextTryAt: fields.nextTryAt ?? null });
  store.log.insert(a);
}

async function scrape(m: ClusterMetrics, registry: Registry, now = NOW) {
  await m.refresh(store.views, store.queue, now);
  const json = await registry.getMetricsAsJSON();
  const value = (name: string, labels: Record<string, string> = {}) =>
    json.find((x) => x.name === name)?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  return { value };
}

describe('cluster metrics from the shared sync log', () => {
  it('count every attempt once as the settled mark moves, the young tail re-read each scrape', async () => {
    store = new SqliteStore(':memory:');
    const registry = new Registry();
    const m = new ClusterMetrics([registry]);
    log(60, 'synced', { tokens: 100 });
    log(10, 'failed', { nextTryAt: new Date(NOW).toISOString() });
    log(1, 'synced', { tokens: 10 }); // younger than the settle time: re-read every scrape
    let s = await scrape(m, registry);
    expect(s.value('ipaas_openai_attempts_total', { outcome: 'synced' })).toBe(2);
    expect(s.value('ipaas_openai_attempts_total', { outcome: 'retrying' })).toBe(1);
    expect(s.value('ipaas_openai_attempts_total', { outcome: 'failed' })).toBe(0);
    expect(s.value('ipaas_openai_tokens_total', { kind: 'input' })).toBe(110);
    // Same log, later scrapes (the young attempt settles in between): nothing counted twice.
    for (const later of [NOW, NOW + SETTLE_MS, NOW + 2 * SETTLE_MS]) {
      s = await scrape(m, registry, later);
      expect(s.value('ipaas_openai_attempts_total', { outcome: 'synced' })).toBe(2);
      expect(s.value('ipaas_openai_tokens_total', { kind: 'input' })).toBe(110);
    }
    log(0, 'failed');
    s = await scrape(m, registry, NOW + 3 * SETTLE_MS);
    expect(s.value('ipaas_openai_attempts_total', { outcome: 'failed' })).toBe(1);
    // Records by latest attempt: four customers, one of them waiting for its next try.
    expect(s.value('ipaas_openai_records', { outcome: 'synced' })).toBe(2);
    expect(s.value('ipaas_openai_records', { outcome: 'retrying' })).toBe(1);
    expect(s.value('ipaas_openai_records', { outcome: 'failed' })).toBe(1);
    expect(s.value('ipaas_openai_cost_usd_total')).toBeCloseTo(0.11, 10);
  });
});
