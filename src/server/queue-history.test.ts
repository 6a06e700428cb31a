import { describe, expect, it } from 'vitest';
import type { QueuePort } from '../store/ports.js';
import { QueueHistory } from './queue-history.js';

describe('QueueHistory', () => {
  it('keeps the highest depth per bucket, null where nothing was sampled, and forgets old samples', async () => {
    let depth = 0;
    const jobs = { counts: async () => ({ pending: depth, calling: 1, answered: 0, written: 0, skipped: 0, failed: 2, held: 0 }) } as unknown as QueuePort;
    const history = new QueueHistory(jobs, 1000, 10_000);
    for (const [at, d] of [[0, 3], [500, 7], [1500, 2], [4200, 0]] as const) {
      depth = d;
      await history.sample(at);
    }
    expect(history.series(0, 1000, 5)).toEqual([8, 3, null, null, 1]);
    await history.sample(20_000);
    expect(history.series(0, 1000, 5)).toEqual([null, null, null, null, null]);
  });
});
