import { describe, expect, it } from 'vitest';
import { LagGovernor, LoopLag } from './loop-lag.js';

describe('LagGovernor', () => {
  it('halves the jobs in flight while the loop lags, adds one back at a time once it is calm', () => {
    const lag = { ms: 0 };
    let t = 0;
    const g = new LagGovernor(lag, 64, 8, () => t, 64);
    expect(g.limit()).toBe(64);
    lag.ms = 30;
    expect(g.limit()).toBe(32);
    expect(g.limit()).toBe(32); // at most one halving per 50 ms
    t += 50;
    expect(g.limit()).toBe(16);
    for (let i = 0; i < 10; i++) ((t += 50), g.limit());
    expect(g.limit()).toBe(1); // never below one: the queue still moves
    lag.ms = 6; // between half and the threshold: hold
    t += 100;
    expect(g.limit()).toBe(1);
    lag.ms = 1;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) ((t += 20), seen.push(g.limit()));
    expect(seen).toEqual([2, 3, 4, 5, 6]);
    for (let i = 0; i < 200; i++) ((t += 20), g.limit());
    expect(g.limit()).toBe(64);
  });
});

describe('LagGovernor slow start', () => {
  it('starts with two jobs and doubles every 50 ms while the loop is calm, then grows by one after the first lag', () => {
    const lag = { ms: 0 };
    let t = 0;
    const g = new LagGovernor(lag, 64, 8, () => t);
    const seen = [g.limit()];
    for (let i = 0; i < 6; i++) ((t += 50), seen.push(g.limit()));
    expect(seen).toEqual([4, 8, 16, 32, 64, 64, 64]);
    const cold = new LagGovernor(lag, 64, 8, () => t);
    expect(cold.limit()).toBe(4);
    t += 20;
    expect(cold.limit()).toBe(4); // doubling waits 50 ms, so a cold loop has time to show its lag
    lag.ms = 20;
    t += 50;
    expect(cold.limit()).toBe(2);
    lag.ms = 1;
    const after: number[] = [];
    for (let i = 0; i < 4; i++) ((t += 50), after.push(cold.limit()));
    expect(after).toEqual([3, 4, 5, 6]); // no more doubling once the loop has lagged
  });
});

describe('LoopLag', () => {
  it('sees a blocked event loop, and calms down after', async () => {
    const lag = new LoopLag(5);
    lag.start();
    try {
      await new Promise((r) => setTimeout(r, 30));
      const busyUntil = performance.now() + 120;
      while (performance.now() < busyUntil) { /* block the loop */ }
      await new Promise((r) => setTimeout(r, 1));
      expect(lag.ms).toBeGreaterThan(60);
      await new Promise((r) => setTimeout(r, 300));
      expect(lag.ms).toBeLessThan(60);
    } finally {
      lag.stop();
    }
    expect(lag.ms).toBe(0);
  });
});
