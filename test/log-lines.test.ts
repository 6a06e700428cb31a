/**
 * The log file tells an operator what happened to each record: levels as words, a reason on every
 * skip and failure, "try n of m" and what happens next, costs without float noise, bulk runs with
 * their run id from start to end, and duplicate webhook deliveries.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openConnector } from '../src/app/connector.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { createLogger } from '../src/shared/logger.js';
import { createRedactor } from '../src/shared/redact.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterAll(async () => h?.close());

const lines = (file: string) =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the log file', () => {
  it('says why, which try, what next; levels as words; costs rounded; bulk runs start and finish with their id', async () => {
    h = await startHarness();
    const file = path.join(h.dir, 'connector.log');
    const logger = createLogger({ level: 'info', file, redact: createRedactor(h.loaded.secrets), instance: 'test-1' });
    const c = await openConnector(h.loaded, { logger });
    try {
      // CUST-10045 syncs; customer id 6 has no CustomerNumber (fails, not retryable); CUST-10045 again is unchanged.
      await runSync(c, [{ customerNumber: 'CUST-10045' }, { id: '6' }], { trigger: { source: 'manual' } });
      await runBulk(c, { params: { mode: 'direct' } });
    } finally {
      await c.close();
    }
    const log = lines(file);
    expect(new Set(log.map((l) => l.level))).toEqual(new Set(['info', 'warn']));
    expect(log.every((l) => l.instance === 'test-1')).toBe(true);

    const done = log.find((l) => l.msg === 'sync done' && l.customerNumber === 'CUST-10045')!;
    expect(done.costUsd).toBeGreaterThan(0);
    expect(String(done.costUsd).replace(/^0\.0*/, '').length).toBeLessThanOrEqual(6); // no 0.000035900000000000005

    const failed = log.find((l) => l.level === 'warn' && l.customerId === '6')!;
    expect(failed.msg).toBe('sync failed');
    expect(failed).toMatchObject({ try: '1 of 6', error: 'MISSING_CUSTOMER_NUMBER' });
    expect(failed.reason).toMatch(/CustomerNumber/);
    expect(failed.next).toMatch(/^dead-lettered: trying again will not help/);

    const skipped = log.filter((l) => l.msg === 'sync skipped');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((l) => typeof l.reason === 'string' && (l.reason as string).length > 0)).toBe(true);

    // One line per state change of a job: claimed (calling), answer stored (answered), then its end (written/failed).
    const job = (done.jobId as number);
    expect(log.filter((l) => l.jobId === job).map((l) => [l.msg, l.state])).toEqual([
      ['job claimed: calling OpenAI', 'calling'],
      ['answer stored', 'answered'],
      ['sync done', 'written'],
    ]);
    expect(failed.state).toBe('failed');
    // The manual run, from queued to finished, with its id and counts.
    const queued = log.find((l) => l.msg === 'manual run queued')!;
    expect(queued).toMatchObject({ customers: 2, trigger: 'manual' });
    expect(log.find((l) => l.msg === 'run finished' && l.runId === queued.runId)).toMatchObject({ written: 1, failed: 1, skipped: 0 });

    const started = log.find((l) => l.msg === 'bulk run started')!;
    expect(started.runId).toEqual(expect.any(String));
    const finished = log.find((l) => l.msg === 'bulk run finished' || l.msg === 'bulk run stopped')!;
    expect(finished.runId).toBe(started.runId);
    expect(log.filter((l) => l.runId === started.runId && String(l.msg).startsWith('sync ')).length).toBeGreaterThan(0);
  });
});
