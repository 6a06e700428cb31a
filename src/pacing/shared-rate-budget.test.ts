/**
 * The shared rate budget on a virtual clock: the bucket arithmetic (the contract every adapter
 * passes), and several RateLimiters sharing one budget the way several instances share PostgreSQL.
 */
import { describe, expect, it } from 'vitest';
import { FakeOpenAILimits } from '../../test/helpers/fake-openai-limits.js';
import type { RateBudgetPort, RateReport } from '../store/ports.js';
import { rateBudgetContract } from './rate-budget-contract.js';
import { RateLimiter, VirtualClock, type Permit, type RateLimiterOptions } from './rate-limiter.js';
import { MemoryRateBudget, rateBudgetKey } from './shared-rate-budget.js';

rateBudgetContract('in memory', async () => {
  const port = new MemoryRateBudget();
  return { ports: [port, port, port], close: async () => {} };
});

const KEY = rateBudgetKey('https://api.openai.com/v1/', 'gpt-5-nano');

/** `n` limiters (instances) on one budget and one virtual clock. */
function cluster(n: number, opts: Omit<RateLimiterOptions, 'clock'>, port?: (clock: VirtualClock) => RateBudgetPort) {
  const clock = new VirtualClock();
  const budget = port ? port(clock) : new MemoryRateBudget(clock);
  const limiters = Array.from({ length: n }, () => {
    const l = new RateLimiter({ ...opts, clock });
    l.shareBudget(budget, KEY);
    return l;
  });
  return { clock, budget, limiters };
}

describe('RateLimiters sharing one budget (virtual time)', () => {
  it('the key is the base URL (without trailing slash) and the model', () => {
    expect(KEY).toBe('https://api.openai.com/v1 gpt-5-nano');
  });

  it('three limiters with a configured 60 RPM get 60 together, then one a second between them', async () => {
    const { clock, limiters } = cluster(3, { rpm: 60, maxConcurrency: 1000, targetUtilization: 1 });
    const grants: Array<{ who: number; at: number }> = [];
    const asks = limiters.flatMap((l, who) => Array.from({ length: 25 }, () => l.acquire(0).then(() => grants.push({ who, at: clock.now() }))));
    await clock.run(Promise.all(asks));
    expect(grants).toHaveLength(75);
    expect(grants.filter((g) => g.at === 0)).toHaveLength(60);
    const later = grants.filter((g) => g.at > 0).map((g) => g.at);
    expect(later).toEqual(Array.from({ length: 15 }, (_, i) => 1000 * (i + 1)));
    // Each limiter still served its own waiters, and all three got some of the later ones.
    expect(new Set(grants.filter((g) => g.at > 0).map((g) => g.who)).size).toBeGreaterThan(1);
    for (const l of limiters) expect(l.snapshot()).toMatchObject({ rpmLimit: 60, inFlight: 25 });
  });

  it('without a shared budget each limiter would allow the whole limit (the problem this solves)', async () => {
    const clock = new VirtualClock();
    const limiters = Array.from({ length: 3 }, () => new RateLimiter({ rpm: 60, maxConcurrency: 1000, targetUtilization: 1, clock }));
    const at0 = await clock.run(Promise.all(limiters.flatMap((l) => Array.from({ length: 60 }, () => l.acquire(0).then(() => clock.now())))));
    expect(at0.filter((t) => t === 0)).toHaveLength(180);
  });

  it('settles the token estimate with the real usage', async () => {
    const { clock, limiters } = cluster(2, { tpm: 10_000, maxConcurrency: 10, targetUtilization: 1 });
    const [a, b] = limiters as [RateLimiter, RateLimiter];
    const p = await clock.run(a.acquire(4000));
    const q = await clock.run(b.acquire(4000));
    expect(b.snapshot().remainingTokens).toBe(2000);
    p.release({ status: 200, tokensUsed: 1000 });
    q.release({ status: 200, tokensUsed: 5000 });
    await clock.advance(0);
    // 10,000 - 1,000 - 5,000, seen by both.
    const r = await clock.run(a.acquire(0));
    r.release({ status: 200, tokensUsed: 0 });
    await clock.advance(0);
    expect(a.snapshot().remainingTokens).toBe(4000);
  });

  it('a 429 with retry-after seen by one limiter makes the others wait until it has passed', async () => {
    const { clock, limiters } = cluster(3, { maxConcurrency: 10 });
    const [a, b, c] = limiters as [RateLimiter, RateLimiter, RateLimiter];
    const p = await clock.run(a.acquire(1));
    const h = new Headers({ 'retry-after-ms': '3000' });
    p.release({ status: 429, headers: h });
    await clock.advance(0);
    const times = await clock.run(Promise.all([b.acquire(1), c.acquire(1), a.acquire(1)].map((x) => x.then(() => clock.now()))));
    expect(times).toEqual([3000, 3000, 3000]);
    expect(b.snapshot().pausedUntil).toBeUndefined();
  });

  it('penalize() (a 429 the transport saw) is shared too', async () => {
    const { clock, limiters } = cluster(2, { maxConcurrency: 10 });
    const [a, b] = limiters as [RateLimiter, RateLimiter];
    a.penalize(1500);
    await clock.advance(0);
    expect(b.snapshot().pausedUntil).toBeUndefined(); // b learns it when it asks
    const t = await clock.run(b.acquire(1).then(() => clock.now()));
    expect(t).toBe(1500);
  });

  it('a grant for a waiter aborted while it was asked for is given back', async () => {
    // A port that answers only when told to, to abort in between.
    const inner = new MemoryRateBudget({ now: () => 0 });
    let release: (() => void) | undefined;
    const slow: RateBudgetPort = {
      reserve: (key, ask, now) => new Promise((resolve) => (release = () => void inner.reserve(key, ask, now).then(resolve))),
      report: (key, rep, now) => inner.report(key, rep, now),
    };
    const clock = new VirtualClock();
    const l = new RateLimiter({ rpm: 10, maxConcurrency: 5, targetUtilization: 1, clock });
    l.shareBudget(slow, KEY);
    const ac = new AbortController();
    const waiting = l.acquire(5, ac.signal);
    await clock.advance(0);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    release!();
    await clock.advance(0);
    const v = await inner.report(KEY, { rpm: 10, utilization: 1 });
    expect(v.requests).toBe(10);
    expect(v.mark.requests).toBe(1); // granted once, then given back
    expect(l.snapshot().inFlight).toBe(0);
  });

  it('when the budget cannot be reached, asks again after a back-off and tells onError', async () => {
    const clock = new VirtualClock();
    const inner = new MemoryRateBudget(clock);
    let failures = 2;
    const flaky: RateBudgetPort = {
      reserve: (key, ask, now) => (failures-- > 0 ? Promise.reject(new Error('connection refused')) : inner.reserve(key, ask, now)),
      report: (key, rep, now) => inner.report(key, rep, now),
    };
    const errors: string[] = [];
    const l = new RateLimiter({ maxConcurrency: 5, clock });
    l.shareBudget(flaky, KEY, (err, during) => errors.push(`${during}: ${(err as Error).message}`));
    const t = await clock.run(l.acquire(1).then(() => clock.now()));
    expect(t).toBe(250 + 500);
    expect(errors).toEqual(['reserve: connection refused', 'reserve: connection refused']);
  });

  it('a budget that stops answering: the reservation times out after 10 s, is asked again, and a late grant is given back', async () => {
    const clock = new VirtualClock();
    const inner = new MemoryRateBudget(clock);
    let hang = true;
    let late: (() => void) | undefined;
    const stuck: RateBudgetPort = {
      reserve: (key, ask, now) => {
        if (!hang) return inner.reserve(key, ask, now);
        hang = false;
        return new Promise((resolve) => (late = () => void inner.reserve(key, ask, now).then(resolve)));
      },
      report: (key, rep, now) => inner.report(key, rep, now),
    };
    const errors: string[] = [];
    const l = new RateLimiter({ rpm: 60, maxConcurrency: 5, targetUtilization: 1, clock });
    l.shareBudget(stuck, KEY, (err) => errors.push((err as Error).message));
    const t = await clock.run(l.acquire(1).then(() => clock.now()));
    expect(t).toBe(10_000 + 250);
    expect(errors).toEqual(['The shared rate budget did not answer within 10000 ms.']);
    late!();
    await clock.advance(0);
    const v = await inner.report(KEY, { rpm: 60, utilization: 1 });
    expect(v.mark.requests).toBe(2); // both granted, the late one given back
    expect(v.requests).toBeCloseTo(59, 6);
  });

  it('reports are merged while one is under way: one port call at a time', async () => {
    const clock = new VirtualClock();
    const inner = new MemoryRateBudget(clock);
    const reports: RateReport[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const counting: RateBudgetPort = {
      reserve: (key, ask, now) => inner.reserve(key, ask, now),
      report: async (key, rep, now) => {
        reports.push(rep);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await clock.sleep(10);
        inFlight--;
        return inner.report(key, rep, now);
      },
    };
    const l = new RateLimiter({ tpm: 100_000, maxConcurrency: 10, targetUtilization: 1, clock });
    l.shareBudget(counting, KEY);
    const permits = await clock.run(Promise.all(Array.from({ length: 5 }, () => l.acquire(1000))));
    for (const p of permits) p.release({ status: 200, tokensUsed: 100 });
    await clock.advance(100);
    expect(maxInFlight).toBe(1);
    expect(reports.map((r) => r.tokens)).toEqual([900, 3600]);
    // 5 × 100 used; the rest refilled over the 20 ms the two reports took.
    expect(l.snapshot().remainingTokens).toBe(100_000 - 500 + Math.floor((20 * 100_000) / 60_000));
  });

  it('a call bigger than the learnt TPM limit is still refused at once', async () => {
    const { clock, limiters } = cluster(1, { maxConcurrency: 2 });
    const l = limiters[0]!;
    const p = await clock.run(l.acquire(10));
    l.observe(new Headers({ 'x-ratelimit-limit-tokens': '40000', 'x-ratelimit-remaining-tokens': '39990' }));
    p.release({ status: 200, tokensUsed: 10 });
    await expect(l.acquire(50_000)).rejects.toThrow(/limit is 40000/);
    expect(l.snapshot().tpmLimit).toBe(40_000);
  });

  it('shareBudget refuses a limiter already in use', async () => {
    const clock = new VirtualClock();
    const l = new RateLimiter({ maxConcurrency: 1, clock });
    await clock.run(l.acquire(1));
    expect(() => l.shareBudget(new MemoryRateBudget(clock), KEY)).toThrow(/before the limiter is used/);
  });
});

describe('three limiters, one budget, one server (virtual time)', () => {
  const cases = [
    { name: 'limits learnt from headers, headers as at admission', headersAt: 'admission', configured: false },
    { name: 'limits learnt from headers, headers as at response', headersAt: 'response', configured: false },
    { name: 'limits configured, headers as at response', headersAt: 'response', configured: true },
  ] as const;

  it.each(cases)('600 RPM / 100k TPM, 3 x concurrency 8, 20 s: no 429s, >= 90% of what the server admits ($name)', async ({ headersAt, configured }) => {
    const RPM = 600;
    const TPM = 100_000;
    const RUN_MS = 20_000;
    const clock = new VirtualClock();
    const server = new FakeOpenAILimits(clock, RPM, TPM, headersAt);
    const budget = new MemoryRateBudget(clock);
    const limiters = Array.from({ length: 3 }, () => {
      const l = new RateLimiter({ maxConcurrency: 8, clock, ...(configured ? { rpm: RPM, tpm: TPM } : {}) });
      l.shareBudget(budget, KEY);
      return l;
    });
    let seed = 7;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let done = 0;
    const worker = async (l: RateLimiter) => {
      while (clock.now() < RUN_MS) {
        const estimate = 80 + Math.floor(rand() * 40);
        const used = estimate - Math.floor(rand() * 30);
        const permit: Permit = await l.acquire(estimate);
        if (clock.now() >= RUN_MS) {
          permit.release({});
          return;
        }
        const res = await server.call(estimate, used, 100 + rand() * 400);
        // As in production: the transport feeds every response's headers to observe(), a 429 to penalize().
        l.observe(res.headers);
        if (res.status === 429) l.penalize(1000);
        permit.release(res.status === 200 ? { status: 200, tokensUsed: used } : {});
        if (res.status === 200) done++;
      }
    };
    await clock.run(Promise.all(limiters.flatMap((l) => Array.from({ length: 8 }, () => worker(l)))));
    const admissible = RPM + (RPM * RUN_MS) / 60_000; // a full bucket, then the refill
    console.log(`[shared budget, virtual] ${headersAt}${configured ? ', configured' : ''}: ${server.admitted} admitted of ${admissible} admissible (${((100 * server.admitted) / admissible).toFixed(1)}%), ${server.count429} 429s`);
    expect(server.count429).toBe(0);
    expect(server.admitted).toBeLessThanOrEqual(admissible);
    expect(server.admitted).toBeGreaterThanOrEqual(0.9 * admissible);
    // In the steady part (after the first 5 s) the rate stays close to the limit too.
    const steady = server.admissions.filter((t) => t >= 5000 && t < RUN_MS).length;
    expect(steady).toBeGreaterThanOrEqual(0.9 * ((RPM * (RUN_MS - 5000)) / 60_000));
    expect(done).toBe(server.admitted);
  });

  it('another client on the same key (not sharing the budget): the headers pull the budget down to what is left', async () => {
    const clock = new VirtualClock();
    const server = new FakeOpenAILimits(clock, 600, 1_000_000, 'admission');
    const budget = new MemoryRateBudget(clock);
    const limiters = Array.from({ length: 3 }, () => {
      const l = new RateLimiter({ maxConcurrency: 16, clock });
      l.shareBudget(budget, KEY);
      return l;
    });
    const RUN_MS = 30_000;
    let ours = 0;
    let our429 = 0;
    const worker = async (l: RateLimiter, i: number) => {
      for (let n = 0; clock.now() < RUN_MS; n++) {
        const permit = await l.acquire(100);
        if (clock.now() >= RUN_MS) return permit.release({});
        const res = await server.call(100, 90, 150 + ((n * 37 + i * 11) % 300));
        l.observe(res.headers);
        if (res.status === 429) l.penalize(1000);
        permit.release(res.status === 200 ? { status: 200, tokensUsed: 90 } : {});
        if (res.status === 200) ours++;
        else our429++;
      }
    };
    // 3 calls a second (180 RPM) that no budget paces.
    let theirs = 0;
    const outsider = async () => {
      while (clock.now() < RUN_MS) {
        if ((await server.call(1, 1, 10)).status === 200) theirs++;
        await clock.sleep(333);
      }
    };
    await clock.run(Promise.all([...limiters.flatMap((l, i) => Array.from({ length: 16 }, (_, j) => worker(l, i * 16 + j))), outsider()]));
    const admissible = 600 + (600 * RUN_MS) / 60_000;
    console.log(`[shared budget, virtual] with an outside client: ours ${ours} (${our429} 429s), theirs ${theirs}, ${server.admitted} of ${admissible}`);
    expect(our429).toBeLessThanOrEqual(Math.ceil(0.01 * ours));
    expect(server.admitted).toBeGreaterThanOrEqual(0.9 * admissible);
  });
});
