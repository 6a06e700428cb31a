/**
 * What only PostgreSQL has to prove: several instances (separate pools, truly concurrent) sharing one
 * database — claims, coalescing, webhook dedupe, startup migrations — plus the database clock,
 * redaction of every stored text, and the account namespace of the sync state.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { canTransition, JOB_STATES } from '../../queue/job-states.js';
import type { AttemptRecord, IntakeItem, Job, NewJob, Storage } from '../ports.js';
import { describeUrl, openPostgresStorage } from './index.js';
import { PG_MIGRATIONS } from './pg-schema.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => cluster?.stop());

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
async function instances(n: number, url?: string, options: Parameters<typeof openPostgresStorage>[1] = {}): Promise<{ url: string; stores: Storage[]; raw: pg.Pool }> {
  const db = url ?? (await cluster.createDatabase());
  const stores: Storage[] = [];
  for (let i = 0; i < n; i++) stores.push(await openPostgresStorage(db, { ...options, instance: `i${i}`, poolSize: 4 }));
  const raw = new pg.Pool({ connectionString: db, max: 2 });
  opened.push(...stores, { close: () => raw.end() });
  return { url: db, stores, raw };
}

const newJob = (ref: string, extra: Partial<NewJob> = {}): NewJob => ({ ref, refKind: 'number', customerId: null, trigger: { source: 'manual' }, maxAttempts: 5, ...extra });
const row = (customerId: string | null, ref: string, extra: Partial<AttemptRecord> = {}): AttemptRecord => ({
  startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(), trigger: 'manual', customerId, customerNumber: null, requestedRef: ref,
  collection: null, outcome: 'synced', errorCode: null, errorMessage: null, errorFix: null, retryable: false, api: null, model: null,
  request: null, response: null, answer: null, writes: null, responseId: null, requestId: null, inputTokens: 0, cachedTokens: 0,
  outputTokens: 0, reasoningTokens: 0, costUsd: null, loadMs: null, openaiMs: null, writeMs: null, totalMs: 1, jobId: null, flags: null, ...extra,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL: several instances on one database', () => {
  it('concurrent claims from three instances: every job leased once, never two jobs of one customer in flight', async () => {
    const { stores, raw } = await instances(3);
    const [a] = stores as [Storage];
    // 25 customers with three jobs each (a direct one and one in each of two runs), and 15 without a customer id.
    for (let c = 0; c < 25; c++) {
      await a.queue.enqueue(newJob(`C-${c}`, { customerId: `c${c}` }));
      for (const run of ['r1', 'r2']) await a.queue.insertRunJobs([newJob(`C-${c}`, { customerId: `c${c}`, runId: run, trigger: { source: 'bulk' } })]);
    }
    for (let i = 0; i < 15; i++) await a.queue.enqueue(newJob(`N-${i}`));
    const total = 25 * 3 + 15;

    const claimed = new Map<number, string>();
    const violations: string[] = [];
    let done = 0;
    const worker = async (store: Storage, owner: string) => {
      while (done < total) {
        const jobs = await store.queue.claim(owner, 3, 60_000);
        if (jobs.length === 0) {
          await sleep(1);
          continue;
        }
        for (const j of jobs) {
          if (claimed.has(j.id)) violations.push(`job ${j.id} claimed by ${claimed.get(j.id)} and ${owner}`);
          claimed.set(j.id, owner);
        }
        // While these are leased, no other job of their customers may be in flight (checked in the database).
        const customers = jobs.map((j) => j.customerId).filter((c): c is string => c !== null);
        const dup = await raw.query(
          `SELECT customer_id, count(*)::int AS n FROM jobs WHERE customer_id = ANY($1) AND state IN ('calling','answered')
             AND lease_until >= (extract(epoch from clock_timestamp()) * 1000)::bigint GROUP BY customer_id HAVING count(*) > 1`,
          [customers],
        );
        for (const r of dup.rows) violations.push(`customer ${r.customer_id} has ${r.n} jobs in flight`);
        await Promise.all(
          jobs.map(async (j: Job, i) => {
            await sleep(Math.random() * 3);
            if (i % 2 === 0) {
              await store.queue.storeAnswer(j, { ok: true });
              await store.queue.settle(j, { to: 'written', attempt: row(j.customerId, j.ref, { jobId: j.id }), answer: { ok: true }, syncState: { customerId: j.customerId ?? j.ref, customerNumber: null, inputFingerprint: 'f', written: {}, lastResponseId: null, lastWrittenAt: 0 } });
            } else {
              await store.queue.settle(j, { to: 'failed', error: { code: 'x', message: 'x', fix: null } });
            }
            done++;
          }),
        );
      }
    };
    await Promise.all(stores.flatMap((s, i) => [0, 1, 2].map((w) => worker(s, `inst${i}-w${w}`))));
    expect(violations).toEqual([]);
    expect(claimed.size).toBe(total);
    expect(new Set([...claimed.values()].map((o) => o.split('-')[0])).size).toBe(3); // every instance took part
    const counts = await a.queue.counts();
    expect(counts.written + counts.failed).toBe(total);
  }, 60_000);

  it('concurrent enqueues of one customer from two instances fold into one job', async () => {
    const { stores } = await instances(2);
    const [a, b] = stores as [Storage, Storage];
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).queue.enqueue(newJob('C-1', { customerId: '1', trigger: { source: 'webhook', event: 'updated' } }))));
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(results.filter((r) => !r.coalesced)).toHaveLength(1);
    expect(await a.queue.get(results[0]!.job.id)).toMatchObject({ coalesced: 9, state: 'pending' });
  });

  it('one webhook delivery taken in by two instances at once is enqueued once', async () => {
    const { stores, raw } = await instances(2);
    const [a, b] = stores as [Storage, Storage];
    const skip = (item: IntakeItem) => row(item.customerId, item.customerId, { outcome: 'skipped' });
    for (let e = 0; e < 10; e++) {
      const item: IntakeItem = { eventKey: `ev-${e}`, deliveryId: `d${e}`, attempt: 1, scope: 'customer/updated', customerId: `cust${e}`, job: newJob(`cust${e}`, { refKind: 'id', customerId: `cust${e}` }) };
      const [x, y] = await Promise.all([a.queue.intake([item], skip), b.queue.intake([{ ...item, attempt: 2 }], skip)]);
      const kinds = [x![0]!.kind, y![0]!.kind].sort();
      expect(kinds).toEqual(['duplicate', 'enqueued']);
      const enqueued = [x![0]!, y![0]!].find((o) => o.kind === 'enqueued') as { job: Job };
      expect([x![0]!, y![0]!].find((o) => o.kind === 'duplicate')).toEqual({ kind: 'duplicate', jobId: enqueued.job.id });
    }
    expect((await a.queue.counts()).pending).toBe(10);
    expect((await raw.query(`SELECT outcome, count(*)::int AS n FROM webhook_events GROUP BY outcome`)).rows).toEqual([{ outcome: 'enqueued', n: 10 }]);
    expect((await raw.query(`SELECT count(*)::int AS n FROM sync_attempts`)).rows[0].n).toBe(10); // one skipped row per duplicate
  });

  it('instances starting at once on an empty database migrate it once', async () => {
    const url = await cluster.createDatabase();
    const stores = await Promise.all(Array.from({ length: 5 }, (_, i) => openPostgresStorage(url, { instance: `boot${i}` })));
    opened.push(...stores);
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      expect((await raw.query('SELECT version FROM schema_migrations ORDER BY version')).rows).toEqual(PG_MIGRATIONS.map((_, i) => ({ version: i + 1 })));
      const moves = (await raw.query('SELECT from_state, to_state FROM job_transitions ORDER BY 1, 2')).rows.map((r) => `${r.from_state}>${r.to_state}`);
      const expected = JOB_STATES.flatMap((f) => JOB_STATES.filter((t) => canTransition(f, t)).map((t) => `${f}>${t}`)).sort();
      expect(moves).toEqual(expected);
      // A stale move left by another build is removed on the next start; the allowed ones stay.
      await raw.query(`INSERT INTO job_transitions VALUES ('written', 'pending')`);
      await raw.query(`DELETE FROM job_transitions WHERE from_state = 'held'`);
      opened.push(await openPostgresStorage(url, {}));
      expect((await raw.query('SELECT from_state, to_state FROM job_transitions ORDER BY 1, 2')).rows.map((r) => `${r.from_state}>${r.to_state}`)).toEqual(expected);
      // A database migrated by a newer build is refused, not used.
      await raw.query('INSERT INTO schema_migrations VALUES (99, 0)');
      await expect(openPostgresStorage(url, {})).rejects.toThrow(/newer than this build/);
    } finally {
      await raw.end();
    }
  });
});

describe('PostgreSQL adapter', () => {
  it('without `now`, times come from the database clock', async () => {
    const { stores, raw } = await instances(1);
    const [s] = stores as [Storage];
    const dbNow = async () => (await raw.query(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS t`)).rows[0].t as string;
    const before = Number(await dbNow());
    const { job } = await s.queue.enqueue(newJob('C-1', { customerId: '1' }));
    const [claimed] = await s.queue.claim('w', 1, 30_000);
    const after = Number(await dbNow());
    expect(job.createdAt).toBeGreaterThanOrEqual(before);
    expect(job.createdAt).toBeLessThanOrEqual(after);
    expect(claimed!.leaseUntil! - 30_000).toBeGreaterThanOrEqual(job.createdAt);
    expect(claimed!.leaseUntil! - 30_000).toBeLessThanOrEqual(after);
    // A job due a minute from now (by the database's clock) is not claimed yet.
    await s.queue.settle(claimed!, { to: 'retry', error: { code: null, message: 'later', fix: null }, delayMs: 60_000 });
    expect(await s.queue.claim('w', 1, 30_000)).toEqual([]);
    const retried = (await s.queue.get(job.id))!;
    expect(retried.runAfter).toBeGreaterThanOrEqual(after + 60_000 - 5);
    expect(await s.pauses.set('quota', 'quota: out')).toBe(true);
    expect((await s.pauses.get('quota'))!.since).toBeGreaterThanOrEqual(before);
  });

  it('no secret reaches the database: queue, sync state, pauses and the log are redacted', async () => {
    const secret = 'sk-live-VERYSECRET-42';
    const { stores, raw } = await instances(1, undefined, { redact: (t: string) => t.split(secret).join('[REDACTED]') });
    const [s] = stores as [Storage];
    const { job } = await s.queue.enqueue(newJob('C-1', { customerId: '1' }), 1_000);
    const [c] = await s.queue.claim('w', 1, 60_000, 1_000);
    await s.queue.storeAnswer(c!, { Comment: `uses ${secret}` }, 1_001);
    await s.queue.settle(c!, { to: 'retry', attempt: row('1', 'C-1', { errorMessage: secret, request: { instructions: secret } }), error: { code: 'e', message: `failed with ${secret}`, fix: `rotate ${secret}` }, delayMs: 0 }, 1_002);
    expect(await s.queue.get(job.id)).toMatchObject({ lastError: 'failed with [REDACTED]', lastErrorFix: 'rotate [REDACTED]', answer: { Comment: 'uses [REDACTED]' } });
    const [again] = await s.queue.claim('w', 1, 60_000, 1_003);
    await s.queue.settle(again!, { to: 'written', attempt: row('1', 'C-1', { writes: [{ after: secret }] }), answer: { Comment: secret }, syncState: { customerId: '1', customerNumber: null, inputFingerprint: 'f', written: { Comment: secret }, lastResponseId: null, lastWrittenAt: 1 } }, 1_004);
    expect((await s.state.get('1'))!.written).toEqual({ Comment: '[REDACTED]' });
    const { job: held } = await s.queue.enqueue(newJob('C-2', { customerId: '2' }), 2_000);
    await s.queue.settle(held, { to: 'held', hold: { kind: 'quota', reason: `quota for ${secret}` }, until: 3_000 }, 2_001);
    await s.pauses.set('quota', `paused: ${secret}`, 2_002);
    const tables = (await raw.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)).rows.map((r) => r.table_name as string);
    expect(tables).toEqual(expect.arrayContaining(['jobs', 'sync_attempts', 'records', 'customer_state', 'pauses', 'request_templates']));
    for (const t of tables) {
      const dump = JSON.stringify((await raw.query(`SELECT * FROM ${pg.escapeIdentifier(t)}`)).rows);
      expect(dump, t).not.toContain(secret);
    }
  });

  it('keeps the sync state per iPaaS.com account', async () => {
    const { url, stores, raw } = await instances(1, undefined, { account: 'https://a.example//' });
    const [a] = stores as [Storage];
    const { stores: [b] } = await instances(1, url, { account: 'https://b.example' });
    const { job } = await a.queue.enqueue(newJob('C-1', { customerId: '42' }), 1);
    const [c] = await a.queue.claim('w', 1, 60_000, 1);
    const state = { customerId: '42', customerNumber: 'C-1', inputFingerprint: 'f', written: { X: 'y' }, lastResponseId: 'r', lastWrittenAt: 5 };
    await a.queue.storeAnswer(c!, {}, 2);
    await a.queue.settle(c!, { to: 'written', attempt: row('42', 'C-1', { jobId: job.id }), answer: {}, syncState: state }, 2);
    expect(await a.state.get('42')).toEqual(state);
    expect(await b!.state.get('42')).toBeUndefined();
    expect((await raw.query('SELECT customer_id FROM customer_state')).rows).toEqual([{ customer_id: 'https://a.example#42' }]);
  });

  it('says where it is without the password', async () => {
    expect(describeUrl('postgres://app:s3cr%40t@db.internal:5433/ipaas?sslmode=require')).toBe('postgres://app:***@db.internal:5433/ipaas?sslmode=require');
    expect(describeUrl('postgres://app@db/ipaas')).toBe('postgres://app@db/ipaas');
    const { url, stores } = await instances(1);
    expect(stores[0]!.engine).toBe('postgres');
    expect(stores[0]!.location).toBe(url);
  });
});
