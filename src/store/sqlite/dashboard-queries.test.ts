import { afterEach, describe, expect, it } from 'vitest';
import { newAttempt } from '../../queue/attempt.js';
import { DashboardQueries } from './dashboard-queries.js';
import { SqliteStore } from './sqlite-store.js';
import type { Outcome } from '../ports.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
let store: SqliteStore;
afterEach(() => store?.close());

function seed(rows: Array<{ minute: number; outcome: Outcome; cn?: string; reason?: string; tokens?: number }>) {
  store = new SqliteStore(':memory:');
  for (const r of rows) {
    const at = new Date(T0 + r.minute * 60_000).toISOString();
    const a = newAttempt({ customerNumber: r.cn ?? 'CUST-1' }, { source: 'manual' }, at);
    Object.assign(a, { finishedAt: at, outcome: r.outcome, errorMessage: r.reason ?? null, inputTokens: r.tokens ?? 0, outputTokens: r.tokens ? 10 : 0, costUsd: r.tokens ? 0.001 : null, request: r.tokens ? { model: 'm' } : null });
    store.log.insert(a);
  }
  return new DashboardQueries(store.db);
}

describe('DashboardQueries', () => {
  it('finds the first attempt at or after a time by binary search, across id gaps', () => {
    const q = seed(Array.from({ length: 40 }, (_, i) => ({ minute: i * 2, outcome: 'synced' as const })));
    store.db.exec('DELETE FROM sync_attempts WHERE id IN (5, 6, 7, 20, 40)');
    const rows = store.db.prepare('SELECT id, finished_at FROM sync_attempts ORDER BY id').all() as Array<{ id: number; finished_at: string }>;
    for (let minute = -3; minute <= 82; minute++) {
      const since = new Date(T0 + minute * 60_000).toISOString();
      const expected = rows.find((r) => r.finished_at >= since)?.id;
      const got = q.firstIdSince(since);
      // Any id between the previous row and the expected one selects the same rows.
      const selected = rows.filter((r) => r.id >= got).map((r) => r.id);
      expect(selected, since).toEqual(expected === undefined ? [] : rows.filter((r) => r.id >= expected).map((r) => r.id));
    }
    const empty = new SqliteStore(':memory:');
    expect(new DashboardQueries(empty.db).firstIdSince('2026-01-01T00:00:00Z')).toBe(0);
    empty.close();
  });

  it('counts outcomes per time bucket and totals for a day', async () => {
    const q = seed([
      { minute: 0, outcome: 'synced', tokens: 100 }, { minute: 1, outcome: 'failed' }, { minute: 5, outcome: 'synced', tokens: 50 },
      { minute: 9, outcome: 'skipped' }, { minute: 30, outcome: 'synced', tokens: 10 },
    ]);
    const series = await q.outcomeSeries(new Date(T0), 5 * 60_000, 4);
    expect(series).toEqual({ synced: [1, 1, 0, 0], skipped: [0, 1, 0, 0], failed: [1, 0, 0, 0], retrying: [0, 0, 0, 0] });
    expect(await q.dayTotals(new Date(T0 + 60_000))).toEqual({ attempts: { synced: 2, skipped: 1, failed: 1, retrying: 0 }, openaiCalls: 2, inputTokens: 60, cachedTokens: 0, outputTokens: 20, costUsd: 0.002 });
  });

  it('lists activity with search, outcome, time range, totals and paging; LIKE wildcards are literal', async () => {
    const q = seed([
      { minute: 0, outcome: 'synced', cn: 'CUST-100' }, { minute: 1, outcome: 'failed', cn: 'CUST-200', reason: 'API request failed. 100% broken' },
      { minute: 2, outcome: 'synced', cn: 'CUST-300' }, { minute: 3, outcome: 'skipped', cn: 'CUST_400' },
    ]);
    const base = { limit: 10, offset: 0 };
    expect((await q.activity(base)).items.map((a) => a.customerNumber)).toEqual(['CUST_400', 'CUST-300', 'CUST-200', 'CUST-100']);
    expect((await q.activity({ ...base, q: '100' })).items.map((a) => a.customerNumber)).toEqual(['CUST-200', 'CUST-100']); // the number and the reason
    expect((await q.activity({ ...base, q: '100%' })).total).toBe(1);
    expect((await q.activity({ ...base, q: 'CUST_' })).items.map((a) => a.customerNumber)).toEqual(['CUST_400']);
    expect((await q.activity({ ...base, outcome: 'failed' })).items[0]).toMatchObject({ customerNumber: 'CUST-200', reason: 'API request failed. 100% broken' });
    // One record exactly: CUST-100 is not CUST-1000, nor an attempt whose reason mentions it.
    expect((await q.activity({ ...base, customerNumber: 'CUST-100' })).items.map((a) => a.customerNumber)).toEqual(['CUST-100']);
    expect((await q.activity({ ...base, customerNumber: 'CUST-10' })).total).toBe(0);
    const range = await q.activity({ ...base, since: new Date(T0 + 60_000).toISOString(), until: new Date(T0 + 3 * 60_000).toISOString() });
    expect(range.items.map((a) => a.customerNumber)).toEqual(['CUST-300', 'CUST-200']);
    expect((await q.activity({ limit: 1, offset: 1 }))).toMatchObject({ total: 4, items: [{ customerNumber: 'CUST-300' }] });
  });

  it('a settled id is the last attempt finished before the time (one writer commits in id order)', async () => {
    const q = seed([{ minute: 0, outcome: 'synced', tokens: 5 }, { minute: 1, outcome: 'failed' }, { minute: 2, outcome: 'synced' }]);
    expect(await q.settledAttemptId(new Date(T0 + 90_000).toISOString())).toBe(2);
    expect(await q.settledAttemptId(new Date(T0).toISOString())).toBe(0);
    expect((await q.attemptTotals(0, 2)).map((r) => [r.outcome, r.count])).toEqual([['failed', 1], ['synced', 1]]);
  });
});
