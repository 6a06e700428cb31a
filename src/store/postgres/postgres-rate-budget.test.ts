/**
 * One OpenAI rate budget and one spend ledger for several instances on PostgreSQL: the statements
 * against the in-memory model (same contract, same numbers on random operations), then three
 * RateLimiters and three Budgets on three separate storages (own pools) against one database, on the
 * database clock in real time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeOpenAILimits } from '../../../test/helpers/fake-openai-limits.js';
import { startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { Budget } from '../../pacing/budget.js';
import { rateBudgetContract } from '../../pacing/rate-budget-contract.js';
import { RateLimiter, systemClock } from '../../pacing/rate-limiter.js';
import { MemoryRateBudget, rateBudgetKey } from '../../pacing/shared-rate-budget.js';
import { BudgetHeldError } from '../../shared/errors.js';
import { sharedPacingOf, type AttemptRecord, type RateAsk, type RateReport, type Storage } from '../ports.js';
import { openPostgresStorage } from './index.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => cluster?.stop());

const opened: Storage[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function instances(n: number): Promise<Storage[]> {
  const url = await cluster.createDatabase();
  const stores: Storage[] = [];
  for (let i = 0; i < n; i++) stores.push(await openPostgresStorage(url, { instance: `i${i}`, poolSize: 4 }));
  opened.push(...stores);
  return stores;
}
const pacing = (s: Storage) => sharedPacingOf(s)!;

rateBudgetContract('PostgreSQL, three instances', async () => {
  const url = await cluster.createDatabase();
  const stores = await Promise.all([0, 1, 2].map((i) => openPostgresStorage(url, { instance: `c${i}`, poolSize: 4 })));
  return { ports: stores.map((s) => pacing(s).rateBudget), close: async () => void (await Promise.all(stores.map((s) => s.close()))) };
});

describe('PostgreSQL rate budget', () => {
  it('the statements give the in-memory model’s numbers, operation for operation', async () => {
    const [store] = await instances(1);
    const pg = pacing(store!).rateBudget;
    const mem = new MemoryRateBudget({ now: () => 0 });
    const key = 'https://api.openai.com/v1 diff';
    let seed = 99;
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    let t = 1_000_000;
    let mark = { requests: 0, tokens: 0 };
    for (let i = 0; i < 400; i++) {
      t += pick([0, 0, 5, 40, 250, 1000, 7000]) - (rand() < 0.05 ? 300 : 0); // sometimes an earlier `now`
      const settings = { rpm: pick([undefined, 60, 600]), tpm: pick([undefined, 5000, 40_000]), utilization: pick([1, 0.98, 0.8]) };
      if (rand() < 0.6) {
        const ask: RateAsk = { ...settings, tokens: Math.floor(rand() * 3000), perWindow: rand() < 0.3 ? { count: 3, windowMs: 1000 } : undefined };
        const [a, b] = [await mem.reserve(key, ask, t), await pg.reserve(key, ask, t)];
        expect(b.granted, `op ${i}`).toBe(a.granted);
        if (a.granted && b.granted) expect(b.mark).toEqual(a.mark);
        if (!a.granted && !b.granted) expect(b.waitMs).toBeCloseTo(a.waitMs, 6);
        expect(near(b.view)).toEqual(near(a.view));
        mark = a.view.mark;
      } else {
        const rep: RateReport = { ...settings };
        if (rand() < 0.4) rep.tokens = Math.floor(rand() * 2000) - 600;
        if (rand() < 0.1) rep.requests = 1;
        if (rand() < 0.1) rep.coolDownMs = Math.floor(rand() * 3000);
        if (rand() < 0.6) {
          rep.server = {
            requests: { limit: pick([undefined, 100, 600]), remaining: pick([undefined, 0, 50, 590]), windowMs: pick([undefined, undefined, 86_400_000]) },
            tokens: { limit: pick([undefined, 30_000]), remaining: pick([undefined, 1000, 29_000]) },
            countedThrough: { requests: Math.max(0, mark.requests - Math.floor(rand() * 4)), tokens: Math.max(0, mark.tokens - Math.floor(rand() * 3000)) },
          };
        }
        expect(near(await pg.report(key, rep, t)), `op ${i}`).toEqual(near(await mem.report(key, rep, t)));
      }
    }
  });

  it('without `now`, a reservation runs on the database clock', async () => {
    const [store] = await instances(1);
    const port = pacing(store!).rateBudget;
    const ask: RateAsk = { rpm: 60, utilization: 1, tokens: 0 };
    for (let i = 0; i < 60; i++) expect((await port.reserve('k', ask)).granted).toBe(true);
    const r = await port.reserve('k', ask);
    expect(r.granted).toBe(false);
    // One request refills in a second; the 60 round trips before took some of it already.
    expect(r.granted ? 0 : r.waitMs).toBeGreaterThan(0);
    expect(r.granted ? 0 : r.waitMs).toBeLessThanOrEqual(1000);
    await new Promise((res) => setTimeout(res, r.granted ? 0 : r.waitMs + 20));
    expect((await port.reserve('k', ask)).granted).toBe(true);
  });
});

/** Views compared at 1e-6 (float sums in another order may differ in the last bits). */
function near(v: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'number' ? Math.round(x * 1e6) / 1e6 : x && typeof x === 'object' ? near(x) : x]));
}

const KEY = rateBudgetKey('https://api.openai.com/v1', 'gpt-5-nano');

describe('three RateLimiters on three storages, one database', () => {
  it('share one 600 RPM budget: in 20 s together they never exceed it and use >= 90% of it', async () => {
    const RPM = 600;
    const TPM = 1_000_000;
    const RUN_MS = 20_000;
    const stores = await instances(3);
    const clock = { now: () => systemClock.now(), sleep: (ms: number) => systemClock.sleep(ms) };
    const server = new FakeOpenAILimits(clock, RPM, TPM, 'response');
    const errors: unknown[] = [];
    const limiters = stores.map((s) => {
      const l = new RateLimiter({ maxConcurrency: 8 });
      l.shareBudget(pacing(s).rateBudget, KEY, (err) => errors.push(err));
      return l;
    });
    const start = clock.now();
    const perLimiter = [0, 0, 0];
    let sent = 0;
    // At the end of the run the calls still waiting for a permit give up (as a stopping serve's do).
    const end = new AbortController();
    setTimeout(() => end.abort(), RUN_MS);
    const worker = async (l: RateLimiter, who: number) => {
      while (!end.signal.aborted) {
        const permit = await l.acquire(150, end.signal).catch(() => undefined);
        if (!permit) return;
        sent++;
        const res = await server.call(150, 100, 50 + Math.random() * 200);
        l.observe(res.headers);
        if (res.status === 429) l.penalize(1000);
        permit.release(res.status === 200 ? { status: 200, tokensUsed: 100 } : {});
        if (res.status === 200) perLimiter[who]!++;
      }
    };
    await Promise.all(limiters.flatMap((l, who) => Array.from({ length: 8 }, () => worker(l, who))));
    const elapsed = clock.now() - start;
    // A full bucket at the start, then the refill: the most the server admits in the run.
    const admissible = RPM + (RPM * RUN_MS) / 60_000;
    const steady = server.admissions.filter((t) => t - start >= 8000 && t - start < RUN_MS).length;
    const steadyAdmissible = (RPM * (RUN_MS - 8000)) / 60_000;
    console.log(
      `[shared budget, PostgreSQL] ${sent} sent, ${server.admitted} admitted of ${Math.round(admissible)} admissible in ${Math.round(elapsed)} ms ` +
        `(${((100 * server.admitted) / admissible).toFixed(1)}%; 8-20 s: ${steady} of ${steadyAdmissible}, ${((100 * steady) / steadyAdmissible).toFixed(1)}%), ` +
        `${server.count429} 429s, per instance ${JSON.stringify(perLimiter)}`,
    );
    expect(errors).toEqual([]);
    expect(server.count429).toBe(0);
    expect(sent).toBeLessThanOrEqual(admissible);
    expect(server.admitted).toBeGreaterThanOrEqual(0.9 * admissible);
    expect(steady).toBeGreaterThanOrEqual(0.9 * steadyAdmissible);
    for (const n of perLimiter) expect(n).toBeGreaterThan(0.15 * server.admitted);
  }, 40_000);

  it('a 429 with retry-after seen by one makes the others wait until it has passed', async () => {
    const stores = await instances(3);
    const limiters = stores.map((s) => {
      const l = new RateLimiter({ maxConcurrency: 4 });
      l.shareBudget(pacing(s).rateBudget, KEY);
      return l;
    });
    const [a, b, c] = limiters as [RateLimiter, RateLimiter, RateLimiter];
    const p = await a.acquire(1);
    const t429 = performance.now();
    p.release({ status: 429, headers: new Headers({ 'retry-after-ms': '2000' }) });
    await new Promise((r) => setTimeout(r, 50)); // the report reaches the database
    const waited = await Promise.all([b, c].map(async (l) => (await l.acquire(1), performance.now() - t429)));
    for (const ms of waited) {
      expect(ms).toBeGreaterThanOrEqual(1990);
      expect(ms).toBeLessThan(2600);
    }
  });
});

const attempt = (tokens: number, usd: number): AttemptRecord => ({
  startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), trigger: 'manual', customerId: null, customerNumber: 'C-1', requestedRef: 'C-1',
  collection: null, outcome: 'synced', errorCode: null, errorMessage: null, errorFix: null, retryable: false, api: 'responses', model: 'gpt-5-nano',
  request: null, response: null, answer: null, writes: null, responseId: null, requestId: null, inputTokens: tokens - 10, cachedTokens: 0,
  outputTokens: 10, reasoningTokens: 0, costUsd: usd, loadMs: null, openaiMs: null, writeMs: null, totalMs: 1, jobId: null, flags: null,
});

describe('three Budgets on three storages, one ledger', () => {
  it('a spend cap reached by the sum of the three holds all three within about a second; raising it lets them go; nothing is counted twice', async () => {
    const stores = await instances(3);
    const open = (cap: number) => Promise.all(stores.map((s) => Budget.open({ daily: { tokens: cap } }, s.ledger, Date.now, { range: pacing(s).spendRange })));
    const budgets = await open(1000);
    // What each instance spends: logged (committed) first, then recorded, as announceAttempt does.
    const spend = async (i: number, tokens: number) => {
      await stores[i]!.log.record(attempt(tokens, tokens / 1e6));
      budgets[i]!.record(tokens, tokens / 1e6, 10);
    };
    for (let round = 0; round < 3; round++) for (let i = 0; i < 3; i++) await spend(i, 100);
    await Promise.all(budgets.map((b) => b.refresh()));
    for (const b of budgets) {
      expect(b.snapshot().today.tokens).toBe(900); // everyone's spend, own records not counted twice
      expect(() => b.check(50, 0)).not.toThrow();
    }
    await spend(0, 100); // the cluster reaches 1000
    expect(() => budgets[0]!.check(50, 0)).toThrow(BudgetHeldError);
    const t0 = Date.now();
    const heldAfter = await Promise.all(
      budgets.slice(1).map(async (b) => {
        for (;;) {
          try {
            b.check(50, 0); // never waits: it starts a re-read in the background when one is due
          } catch (err) {
            expect(err).toBeInstanceOf(BudgetHeldError);
            return Date.now() - t0;
          }
          if (Date.now() - t0 > 5000) throw new Error('not held within 5 s');
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    console.log(`[shared budget, PostgreSQL] the other two held ${JSON.stringify(heldAfter)} ms after the cap was reached`);
    for (const ms of heldAfter) expect(ms).toBeLessThan(1500);
    for (const b of budgets) {
      await b.refresh();
      expect(b.snapshot().today.tokens).toBe(1000);
    }
    // The cap raised (config change + restart): all three go again, counting from the same ledger.
    const raised = await open(2000);
    for (const b of raised) {
      expect(b.snapshot().today.tokens).toBe(1000);
      expect(() => b.check(50, 0)).not.toThrow();
    }
  });
});
