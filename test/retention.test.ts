/**
 * Retention: bodies older than log.retainDays go (serve at start and daily, `ipaas-openai purge` on
 * demand); newer ones, and the tokens, cost and outcome of every attempt, stay. A real sync over HTTP
 * against the emulators is the "new" data; rows dated 40 days back are the "old".
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { startService } from '../src/server/service.js';
import type { AttemptRecord, Storage, StoredAttempt } from '../src/store/ports.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { waitFor } from './helpers/service-harness.js';

const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString();

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A synced attempt of `days` ago, with everything a real one keeps. */
async function oldAttempt(store: Storage, days: number): Promise<StoredAttempt> {
  const a: AttemptRecord = {
    startedAt: daysAgo(days), finishedAt: daysAgo(days), trigger: 'manual', customerId: '1', customerNumber: 'CUST-10045', requestedRef: 'CUST-10045',
    collection: 'OpenAI Add/Update Customer FROM iPaaS', outcome: 'synced', errorCode: null, errorMessage: null, errorFix: null, retryable: false,
    api: 'responses', model: 'gpt-4o-mini', request: { input: [{ role: 'user', content: '{"FirstName":"Keanu"}' }] }, response: { id: 'resp_old' },
    answer: { Comment: 'Keanu, long ago' }, writes: [{ field: 'Comment', before: null, after: 'Keanu, long ago' }], responseId: 'resp_old', requestId: null,
    inputTokens: 300, cachedTokens: 0, outputTokens: 50, reasoningTokens: 0, costUsd: 0.0005, loadMs: 1, openaiMs: 2, writeMs: 3, totalMs: 6, jobId: null, flags: null, promptVersion: null,
  };
  return store.log.record(a);
}

describe('retention of request and response bodies', () => {
  it('purge blanks bodies older than --older-than only (by default log.retainDays); tokens, cost and outcomes stay', async () => {
    h = await startHarness();
    const store = h.connector.store;
    const fresh = (await runSync(h.connector, [{ customerNumber: 'CUST-10045' }], { trigger: { source: 'manual' } })).results[0]!.attempt;
    const old = await oldAttempt(store, 40);
    await store.trials.record({
      trialId: 'old-trial', variant: 'active', promptVersion: 'v1', startedAt: daysAgo(40), finishedAt: daysAgo(40), customerId: '1', customerNumber: 'CUST-10045',
      requestedRef: 'CUST-10045', outcome: 'answered', errorCode: null, errorMessage: null, api: 'responses', model: 'gpt-4o-mini', request: { input: 'Keanu' },
      response: null, answer: { Comment: 'Keanu' }, writes: null, responseId: null, inputTokens: 10, cachedTokens: 0, outputTokens: 1, reasoningTokens: 0, costUsd: 0.25, totalMs: 1,
    });
    const ledger = await store.ledger.since(daysAgo(100));

    // log.retainDays: 50 in the config file: nothing is that old yet.
    writeFileSync(path.join(h.dir, 'ipaas-openai.yaml'), 'log:\n  retainDays: 50\n');
    const byConfig = await runCli(['purge', '--yes', '--json'], { cwd: h.dir, env: h.env });
    expect(byConfig.code, byConfig.stderr).toBe(0);
    const [plan, done] = byConfig.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(plan.estimate.bodies).toMatchObject({ olderThan: '50 days', counts: { attempts: 0, trials: 0, jobs: 0 } });
    expect(done.purged).toEqual({ attempts: 0, trials: 0, jobs: 0 });
    expect((await store.log.get(old.id))!.request).not.toBeNull();

    const r = await runCli(['purge', '--older-than', '30d', '--yes'], { cwd: h.dir, env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/To purge: bodies older than 30 days \(finished before \S+\): 1 sync attempt, 1 trial attempt, 0 finished jobs; request, response, answer/);
    expect(r.stdout).toMatch(/Purged bodies older than 30 days .*: 1 sync attempt, 1 trial attempt, 0 finished jobs\./);
    expect(await store.log.get(old.id)).toEqual({ ...old, request: null, response: null, answer: null, writes: null });
    // The sync of a minute ago keeps everything.
    const kept = (await store.log.list({ customerNumber: 'CUST-10045' })).find((a) => a.startedAt === fresh.startedAt)!;
    expect(kept.request).toEqual(fresh.request);
    expect(kept.writes).toEqual(fresh.writes);
    expect((await store.trials.list({ trialId: 'old-trial' }))[0]).toMatchObject({ request: null, answer: null, costUsd: 0.25 });
    expect(await store.ledger.since(daysAgo(100))).toEqual(ledger);
  });

  it('an age it does not take is refused, naming it, before anything is touched', async () => {
    h = await startHarness();
    for (const bad of ['2w', '0h']) {
      const r = await runCli(['purge', '--older-than', bad, '--yes'], { cwd: h.dir, env: h.env });
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain(`error: --older-than "${bad}" is not an age this command takes.\nFix: Give a whole number of days or hours, at least 1h, e.g. --older-than 30d`);
    }
  });

  it('serve purges at start, says so in one log line with the counts, and keeps newer bodies', async () => {
    h = await startHarness();
    const old = await oldAttempt(h.connector.store, 31);
    const recent = await oldAttempt(h.connector.store, 29);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (c, _e, done) => (lines.push(JSON.parse(String(c))), done()) }));
    const loaded = loadConfig({ env: h.env, cwd: h.dir, overrides: { server: { port: 0 }, log: { retainDays: 30 } } });
    const service = await startService(loaded, { logger, workers: false });
    try {
      await waitFor(() => lines.some((l) => l.msg === 'retention: bodies purged'), 10_000, 'the purge at start');
      expect(lines.filter((l) => l.msg === 'retention: bodies purged')).toEqual([expect.objectContaining({ retainDays: 30, attempts: 1, trials: 0, jobs: 0 })]);
      expect((await h.connector.store.log.get(old.id))!.request).toBeNull();
      expect((await h.connector.store.log.get(recent.id))!.request).toEqual(recent.request);
    } finally {
      await service.stop(1000);
    }
  });
});
