/**
 * What every RateBudgetPort adapter must do, on explicit times (each call is given `now`), so the
 * in-memory model and the PostgreSQL statements are held to the same numbers. `setup` returns
 * several ports on one budget (for PostgreSQL: separate pools, truly concurrent).
 */
import { describe, expect, it } from 'vitest';
import type { RateAsk, RateBudgetPort, RateReservation } from '../store/ports.js';

export interface RateBudgetSetup {
  ports: RateBudgetPort[];
  close(): Promise<void>;
}

let keys = 0;
const newKey = () => `https://api.example.test/v1 model-${process.pid}-${++keys}-${Math.random().toString(36).slice(2, 7)}`;

const granted = (r: RateReservation) => r.granted;
const waitOf = (r: RateReservation) => (r.granted ? 0 : r.waitMs);

export function rateBudgetContract(name: string, setup: () => Promise<RateBudgetSetup>): void {
  describe(`RateBudgetPort contract: ${name}`, () => {
    const withPorts = async (fn: (ports: RateBudgetPort[]) => Promise<void>) => {
      const s = await setup();
      try {
        await fn(s.ports);
      } finally {
        await s.close();
      }
    };

    it('refills requests continuously at limit/min; a denied ask says how long to wait', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        const ask: RateAsk = { rpm: 60, utilization: 1, tokens: 0 };
        for (let i = 1; i <= 60; i++) {
          const r = await p!.reserve(key, ask, 1000);
          expect(r).toMatchObject({ granted: true, mark: { requests: i, tokens: 0 } });
        }
        const denied = await p!.reserve(key, ask, 1000);
        expect(denied.granted).toBe(false);
        expect(waitOf(denied)).toBeCloseTo(1000, 6);
        expect(denied.view).toMatchObject({ requestsLimit: 60, requestsCapacity: 60, pausedMs: 0, mark: { requests: 60 } });
        expect(waitOf(await p!.reserve(key, ask, 1500))).toBeCloseTo(500, 6);
        expect(await p!.reserve(key, ask, 2000)).toMatchObject({ granted: true, mark: { requests: 61 } });
        // A request given back (a grant that went unused) is there at once.
        expect(granted(await p!.reserve(key, ask, 2000))).toBe(false);
        await p!.report(key, { rpm: 60, utilization: 1, requests: 1 }, 2000);
        expect(granted(await p!.reserve(key, ask, 2000))).toBe(true);
      }));

    it('tokens: aims at utilization, a call above capacity passes when full, the estimate is settled later', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        const ask = (tokens: number): RateAsk => ({ tpm: 6000, utilization: 0.5, tokens });
        expect(await p!.reserve(key, ask(3000), 0)).toMatchObject({ granted: true, view: { tokensLimit: 6000, tokensCapacity: 3000, tokens: 0 } });
        const r = await p!.reserve(key, ask(1000), 0);
        expect(waitOf(r)).toBeCloseTo(20_000, 6); // 1000 tokens at 3000/min
        expect(granted(await p!.reserve(key, ask(1000), 20_000))).toBe(true);
        expect(waitOf(await p!.reserve(key, ask(4000), 20_000))).toBeCloseTo(60_000, 6);
        const big = await p!.reserve(key, ask(4000), 80_000);
        expect(big).toMatchObject({ granted: true, mark: { requests: 3, tokens: 8000 } });
        expect(big.view.tokens).toBeCloseTo(-1000, 6);
        expect((await p!.report(key, { tpm: 6000, utilization: 0.5, tokens: 500 }, 80_000)).tokens).toBeCloseTo(-500, 6);
        expect((await p!.report(key, { tpm: 6000, utilization: 0.5, tokens: -200 }, 80_000)).tokens).toBeCloseTo(-700, 6);
        // Give-backs never fill above capacity.
        expect((await p!.report(key, { tpm: 6000, utilization: 0.5, tokens: 1e9 }, 80_000)).tokens).toBeCloseTo(3000, 6);
      }));

    it('learns limits from the server, lowers to its remaining less what was granted after the answer, never raises, ignores stale answers', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        const s = { utilization: 1 };
        const first = await p!.reserve(key, { ...s, tokens: 100 }, 0);
        expect(first).toMatchObject({ granted: true, mark: { requests: 1, tokens: 100 } });
        expect(first.view.requestsLimit).toBeUndefined();
        let v = await p!.report(key, { ...s, server: { requests: { limit: 100, remaining: 90 }, tokens: { limit: 10_000, remaining: 9000 }, countedThrough: { requests: 1, tokens: 100 } } }, 0);
        expect(v).toMatchObject({ requestsLimit: 100, requestsCapacity: 100, requests: 90, tokensLimit: 10_000, tokens: 9000 });
        for (let i = 0; i < 3; i++) await p!.reserve(key, { ...s, tokens: 100 }, 0);
        // The answer counted through grant 2: grants 3 and 4 (200 tokens) are not in its remaining.
        v = await p!.report(key, { ...s, server: { requests: { remaining: 80 }, tokens: { remaining: 8000 }, countedThrough: { requests: 2, tokens: 200 } } }, 0);
        expect(v).toMatchObject({ requests: 78, tokens: 7800 });
        v = await p!.report(key, { ...s, server: { requests: { remaining: 1 }, tokens: { remaining: 1 }, countedThrough: { requests: 1, tokens: 100 } } }, 0);
        expect(v).toMatchObject({ requests: 78, tokens: 7800 }); // stale: older than the one applied
        v = await p!.report(key, { ...s, server: { requests: { remaining: 100 }, tokens: { remaining: 10_000 }, countedThrough: { requests: 4, tokens: 400 } } }, 0);
        expect(v).toMatchObject({ requests: 78, tokens: 7800 }); // never raised
        // Refill by the server's limit: 22 requests in 13.2 s.
        v = await p!.report(key, { ...s }, 13_200);
        expect(v.requests).toBeCloseTo(100, 6);
      }));

    it('keeps (1 - utilization) of the limit as headroom below the server remaining', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        const v = await p!.report(key, { utilization: 0.9, server: { requests: { limit: 100, remaining: 50 }, countedThrough: { requests: 0, tokens: 0 } } }, 0);
        expect(v.requests).toBeCloseTo(40, 6);
        expect(v.requestsCapacity).toBeCloseTo(90, 6);
      }));

    it('a configured cap and the server limit: the stricter of both', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        await p!.report(key, { rpm: 30, utilization: 1, server: { requests: { limit: 600 }, countedThrough: { requests: 0, tokens: 0 } } }, 0);
        const ask: RateAsk = { rpm: 30, utilization: 1, tokens: 0 };
        for (let i = 0; i < 30; i++) expect(granted(await p!.reserve(key, ask, 0))).toBe(true);
        const r = await p!.reserve(key, ask, 0);
        expect(r.view.requestsLimit).toBe(30);
        expect(waitOf(r)).toBeCloseTo(2000, 6);
      }));

    it('a per-day limit refills by its window', () =>
      withPorts(async ([p]) => {
        const key = newKey();
        await p!.report(key, { utilization: 1, server: { requests: { limit: 200, remaining: 0, windowMs: 86_400_000 }, countedThrough: { requests: 0, tokens: 0 } } }, 0);
        expect(waitOf(await p!.reserve(key, { utilization: 1, tokens: 0 }, 0))).toBeCloseTo(432_000, 3);
      }));

    it('a cool-down holds every caller until it has passed', () =>
      withPorts(async ([a, b]) => {
        const key = newKey();
        await (b ?? a)!.reserve(key, { utilization: 1, tokens: 0 }, 0);
        const v = await a!.report(key, { utilization: 1, coolDownMs: 2500 }, 0);
        expect(v.pausedMs).toBe(2500);
        const r = await (b ?? a)!.reserve(key, { rpm: 1000, utilization: 1, tokens: 0 }, 1000);
        expect(r).toMatchObject({ granted: false, view: { pausedMs: 1500 } });
        expect(waitOf(r)).toBeCloseTo(1500, 6);
        // A shorter cool-down does not shorten it.
        await a!.report(key, { utilization: 1, coolDownMs: 100 }, 1000);
        expect(granted(await a!.reserve(key, { utilization: 1, tokens: 0 }, 2499))).toBe(false);
        expect(granted(await (b ?? a)!.reserve(key, { utilization: 1, tokens: 0 }, 2500))).toBe(true);
      }));

    it('at most n starts in any window (the API Throttle Limit), over every caller', () =>
      withPorts(async ([a, b]) => {
        const key = newKey();
        const ask: RateAsk = { utilization: 1, tokens: 0, perWindow: { count: 2, windowMs: 1000 } };
        const q = b ?? a!;
        expect(granted(await a!.reserve(key, ask, 0))).toBe(true);
        expect(granted(await q.reserve(key, ask, 400))).toBe(true);
        expect(waitOf(await a!.reserve(key, ask, 500))).toBeCloseTo(500, 6);
        expect(granted(await q.reserve(key, ask, 1000))).toBe(true);
        expect(waitOf(await a!.reserve(key, ask, 1000))).toBeCloseTo(400, 6);
        expect(granted(await a!.reserve(key, ask, 1400))).toBe(true);
      }));

    it("time never runs backwards: a caller's earlier `now` refills nothing", () =>
      withPorts(async ([p]) => {
        const key = newKey();
        const ask: RateAsk = { rpm: 60, utilization: 1, tokens: 0 };
        for (let i = 0; i < 60; i++) await p!.reserve(key, ask, 10_000);
        expect(waitOf(await p!.reserve(key, ask, 5000))).toBeCloseTo(1000, 6);
        expect(granted(await p!.reserve(key, ask, 11_000))).toBe(true);
      }));

    it('concurrent reservations from every port never take more than there is', () =>
      withPorts(async (ports) => {
        const key = newKey();
        const ask: RateAsk = { rpm: 50, utilization: 1, tokens: 10 };
        await ports[0]!.report(key, { rpm: 50, utilization: 1 }, 0);
        const all = await Promise.all(Array.from({ length: 200 }, (_, i) => ports[i % ports.length]!.reserve(key, ask, 0)));
        const marks = all.filter((r): r is Extract<RateReservation, { granted: true }> => r.granted).map((r) => r.mark.requests);
        expect(marks).toHaveLength(50);
        expect(new Set(marks).size).toBe(50);
        expect(Math.max(...marks)).toBe(50);
        expect(all.filter((r) => !r.granted).every((r) => waitOf(r) > 0)).toBe(true);
      }));
  });
}
