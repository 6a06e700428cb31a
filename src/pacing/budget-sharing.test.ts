/**
 * Budgets of several instances on one ledger, on a fake clock: what each sees of the others' spend,
 * that nothing is counted twice, and that a re-read sums only the open end of the ledger.
 */
import { describe, expect, it } from 'vitest';
import { BudgetHeldError } from '../shared/errors.js';
import type { SpendLedgerPort, SpendRangePort } from '../store/ports.js';
import { Budget } from './budget.js';

const MIN = 60_000;
const T0 = Date.UTC(2031, 4, 10, 12, 0, 0); // a Saturday noon, mid-month

/** The sync log as a ledger: attempts by start time, visible once logged. */
class FakeLedger implements SpendLedgerPort, SpendRangePort {
  readonly rows: Array<{ startedAt: number; tokens: number; usd: number }> = [];
  readonly reads: Array<{ from: number; to?: number }> = [];
  fail = false;
  /** Resolves reads only when released (to record while one is under way). */
  gate: Promise<void> | undefined;

  log(startedAt: number, tokens: number, usd = 0): void {
    this.rows.push({ startedAt, tokens, usd });
  }

  private async sum(from: number, to = Infinity) {
    this.reads.push(to === Infinity ? { from } : { from, to });
    const snapshot = this.rows.filter((r) => r.startedAt >= from && r.startedAt < to);
    if (this.gate) await this.gate;
    if (this.fail) throw new Error('ledger unreachable');
    return { tokens: snapshot.reduce((n, r) => n + r.tokens, 0), usd: snapshot.reduce((n, r) => n + r.usd, 0) };
  }

  since(iso: string) {
    return this.sum(Date.parse(iso));
  }

  between(fromIso: string, toIso: string) {
    return this.sum(Date.parse(fromIso), Date.parse(toIso));
  }
}

function setup(n: number, caps: ConstructorParameters<typeof Budget>[0] = { daily: { tokens: 1000 } }) {
  const ledger = new FakeLedger();
  let t = T0;
  const clock = { now: () => t, set: (v: number) => (t = v), add: (ms: number) => (t += ms) };
  const open = () => Promise.all(Array.from({ length: n }, () => Budget.open(caps, ledger, clock.now, { range: ledger, refreshMs: 1000 })));
  return { ledger, clock, open };
}

/** An instance's attempt: committed to the ledger, then recorded by its Budget (announceAttempt's order). */
const spend = (ledger: FakeLedger, b: Budget, at: number, tokens: number, usd = 0) => {
  ledger.log(at, tokens, usd);
  b.record(tokens, usd, 10);
};

describe('Budgets sharing one ledger', () => {
  it('each sees the sum of all, its own spend counted once', async () => {
    const { ledger, clock, open } = setup(3);
    ledger.log(T0 - 5 * MIN, 100); // before any of them started
    const budgets = await open();
    for (const b of budgets) expect(b.snapshot().today.tokens).toBe(100);
    budgets.forEach((b, i) => spend(ledger, b, clock.now(), 100 * (i + 1)));
    // Before a re-read each knows only its own.
    expect(budgets.map((b) => b.snapshot().today.tokens)).toEqual([200, 300, 400]);
    await Promise.all(budgets.map((b) => b.refresh()));
    expect(budgets.map((b) => b.snapshot().today.tokens)).toEqual([700, 700, 700]);
    expect(budgets.map((b) => b.snapshot().month.tokens)).toEqual([700, 700, 700]);
  });

  it("the cluster's spend reaching a cap holds everyone after their next re-read; check() never waits for it", async () => {
    const { ledger, clock, open } = setup(2);
    const [a, b] = (await open()) as [Budget, Budget];
    spend(ledger, a, clock.now(), 960);
    expect(() => b.check(50, 0)).not.toThrow(); // b's last read: nothing spent; the re-read is not due yet
    clock.add(1000);
    expect(() => b.check(50, 0)).not.toThrow(); // due: the re-read starts in the background, this check uses what b knows
    await b.refresh(); // (joins the one under way)
    expect(() => b.check(50, 0)).toThrow(BudgetHeldError);
    expect(() => a.check(50, 0)).toThrow(BudgetHeldError);
  });

  it('what is recorded while a re-read is under way is kept until the next one (never lost, briefly perhaps twice)', async () => {
    const { ledger, clock, open } = setup(1);
    const [b] = (await open()) as [Budget];
    spend(ledger, b, clock.now(), 100);
    let release!: () => void;
    ledger.gate = new Promise((r) => (release = r));
    const reading = b.refresh();
    spend(ledger, b, clock.now(), 50); // logged after the read's snapshot
    release();
    await reading;
    ledger.gate = undefined;
    expect(b.snapshot().today.tokens).toBe(150);
    spend(ledger, b, clock.now(), 25);
    await b.refresh();
    expect(b.snapshot().today.tokens).toBe(175);
  });

  it('re-reads sum only the open end of the ledger; closed stretches are summed once', async () => {
    const { ledger, clock, open } = setup(1, { monthly: { tokens: 1e9 } });
    for (let m = 0; m < 600; m += 5) ledger.log(T0 - m * MIN, 1); // the last 10 hours
    const [b] = (await open()) as [Budget];
    expect(b.snapshot().month.tokens).toBe(120);
    for (let i = 0; i < 120; i++) {
      clock.add(1000);
      spend(ledger, b, clock.now() - 200, 1);
      ledger.reads.length = 0;
      await b.refresh();
      // Open-ended reads start at most 40 minutes back.
      for (const r of ledger.reads.filter((x) => x.to === undefined)) expect(clock.now() - r.from).toBeLessThanOrEqual(40 * MIN);
    }
    expect(b.snapshot().month.tokens).toBe(240);
    expect(b.snapshot().today.tokens).toBe(240);
  });

  it('an attempt logged long after it started is counted at the next recount of the closed stretch (hourly)', async () => {
    const { ledger, clock, open } = setup(1, { monthly: { tokens: 1e9 } });
    const [b] = (await open()) as [Budget];
    ledger.log(clock.now() - 20 * MIN, 7); // ran 20 minutes: still in the open end
    await b.refresh();
    expect(b.snapshot().month.tokens).toBe(7);
    clock.add(1000);
    ledger.log(clock.now() - 50 * MIN, 5); // ran 50 minutes: its start is in a closed stretch
    await b.refresh();
    expect(b.snapshot().month.tokens).toBe(7);
    clock.add(61 * MIN);
    await b.refresh();
    expect(b.snapshot().month.tokens).toBe(12);
  });

  it('a new day starts from zero, the month goes on; a new month from zero', async () => {
    const { ledger, clock, open } = setup(1, { daily: { tokens: 1000 }, monthly: { tokens: 1e9 } });
    const [b] = (await open()) as [Budget];
    spend(ledger, b, clock.now(), 300);
    clock.set(Date.UTC(2031, 4, 11, 0, 0, 5));
    expect(b.snapshot().today.tokens).toBe(0);
    spend(ledger, b, clock.now(), 40);
    await b.refresh();
    expect(b.snapshot()).toMatchObject({ today: { tokens: 40 }, month: { tokens: 340 } });
    clock.set(Date.UTC(2031, 4, 11, 6, 0, 0));
    spend(ledger, b, clock.now(), 2);
    await b.refresh();
    expect(b.snapshot()).toMatchObject({ today: { tokens: 42 }, month: { tokens: 342 } });
    clock.set(Date.UTC(2031, 5, 1, 0, 0, 1));
    await b.refresh();
    expect(b.snapshot()).toMatchObject({ today: { tokens: 0 }, month: { tokens: 0 } });
  });

  it('a failed re-read keeps the totals and is tried again later', async () => {
    const { ledger, clock } = setup(1);
    const errors: unknown[] = [];
    const b = await Budget.open({ daily: { tokens: 1000 } }, ledger, clock.now, { range: ledger, refreshMs: 1000, onError: (e) => errors.push(e) });
    spend(ledger, b, clock.now(), 100);
    ledger.fail = true;
    clock.add(1000);
    b.check(1, 0);
    await new Promise((r) => setImmediate(r));
    expect(errors).toHaveLength(1);
    expect(b.snapshot().today.tokens).toBe(100);
    ledger.fail = false;
    ledger.log(clock.now(), 900); // another instance
    clock.add(1000);
    b.check(1, 0);
    await b.refresh();
    expect(() => b.check(1, 0)).toThrow(BudgetHeldError);
  });

  it('without sharing nothing changes: the ledger is read once, at open', async () => {
    const { ledger, clock } = setup(1);
    ledger.log(clock.now(), 100);
    const b = await Budget.open({ daily: { tokens: 1000 } }, ledger, clock.now);
    const reads = ledger.reads.length;
    ledger.log(clock.now(), 500); // another process
    clock.add(10_000);
    b.check(1, 0);
    await b.refresh();
    expect(ledger.reads.length).toBe(reads);
    expect(b.snapshot().today.tokens).toBe(100);
  });
});
