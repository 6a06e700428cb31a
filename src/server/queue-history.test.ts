import { describe, expect, it } from 'vitest';
import type { SqliteJobStore } from '../store/sqlite-job-store.js';
import { QueueHistory } from './queue-history.js';

describe('QueueHistory', () => {
  it('keeps the highest depth per bucket, null where nothing was sampled, and forgets old samples', () => {
    let depth = 0;
    const jobs = { counts: () => ({ pending: depth, calling: 1, answered: 0, written: 0, skipped: 0, failed: 2, held: 0 }) } as unknown as SqliteJobStore;
    const history = new QueueHistory(jobs, 1000, 10_000);
    for (const [at, d] of [[0, 3], [500, 7], [1500, 2], [4200, 0]] as const) {
      depth = d;
      history.sample(at);
    }
    expect(history.series(0, 1000, 5)).toEqual([8, 3, null, null, 1]);
    history.sample(20_000);
    expect(history.series(0, 1000, 5)).toEqual([null, null, null, null, null]);
  });
});
