/**
 * Several instances on PostgreSQL, as an operator runs them: three `ipaas-openai serve` processes
 * (the compiled CLI) with different IPAAS_OPENAI_INSTANCE names on one database, the emulators as a
 * process of their own with 3,000 customers, one manual sync of all 3,000 through one instance's
 * POST /api/sync. Every customer is written exactly once, all three instances do the work, and
 * nothing is left open; then the same with one instance SIGKILLed a third of the way through.
 *
 * Run `npm run build` first (the processes run bin/ipaas-openai.js).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { killAll, startEmulators, startInstance, until, writeConfig, type Emulators, type Instance } from './helpers/instances.js';

const N = 3000;
const NAMES = ['alpha', 'beta', 'gamma'] as const;
const ADMIN = 'admin-several-instances-0123456789';
const PUT = 'PUT /customers/v2/Customer/:id';
const CONCURRENCY = 16; // jobs.concurrency, the default, written into the config so the bound below is explicit
const NUMBERS = Array.from({ length: N }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`);
const OPEN_STATES = ['pending', 'calling', 'batched', 'answered', 'held'] as const;

type Counts = Record<'pending' | 'calling' | 'batched' | 'answered' | 'held' | 'written' | 'skipped' | 'failed', number>;
type Activity = { customerNumber: string | null; outcome: string; instance: string | null; jobId: number | null; startedAt: string; reason: string | null };

let cluster: PostgresCluster | undefined;
const children: ChildProcess[] = [];
const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-several-'));

beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  await killAll(children);
  await cluster?.stop();
  rmSync(cwd, { recursive: true, force: true });
}, 30_000);

/** A fresh emulator process and database, and three instances on it. */
async function threeInstances(tag: string, jobs: Record<string, number>): Promise<{ emu: Emulators; db: string; instances: Instance[] }> {
  const emu = await startEmulators(cwd, N, children, ['--rpm', '1000000', '--tpm', '1000000000', '--latency-ms', '20']);
  const db = await cluster!.createDatabase();
  const config = writeConfig(cwd, `${tag}.json`, { jobs: { concurrency: CONCURRENCY, ...jobs }, log: { path: '-', level: 'info' } });
  const instances = await Promise.all(NAMES.map((name) => startInstance(name, { env: { ...emu.env, IPAAS_OPENAI_DB: db }, cwd, config, adminToken: ADMIN, track: children })));
  return { emu, db, instances };
}

async function counts(i: Instance): Promise<Counts> {
  return (await i.api<{ counts: Counts }>('GET', '/api/jobs?limit=1')).body.counts;
}
const open = (c: Counts) => OPEN_STATES.reduce((n, s) => n + (c[s] ?? 0), 0);

/** The whole sync log through /api/activity (200 a page). */
async function activity(i: Instance): Promise<Activity[]> {
  const all: Activity[] = [];
  for (let offset = 0; ; offset += 200) {
    const page = (await i.api<{ total: number; items: Activity[] }>('GET', `/api/activity?limit=200&offset=${offset}`)).body;
    all.push(...page.items);
    if (page.items.length < 200) return all;
  }
}

async function startRun(via: Instance): Promise<string> {
  const r = await via.api<{ runId: string; enqueued: number }>('POST', '/api/sync', { customerNumbers: NUMBERS });
  expect(r.status).toBe(202);
  expect(r.body.enqueued).toBe(N);
  return r.body.runId;
}

/** Every customer written exactly once: one synced attempt each, N PUTs in all, each customer carrying its own response id. */
async function expectEachWrittenOnce(emu: Emulators, via: Instance, runId: string, log: Activity[]) {
  const run = (await via.api<{ total: number; finished: boolean; counts: Counts }>('GET', `/api/runs/${runId}`)).body;
  expect(run).toMatchObject({ total: N, finished: true });
  expect(run.counts.written).toBe(N);

  const synced = new Map<string, number>();
  for (const a of log) if (a.outcome === 'synced') synced.set(a.customerNumber!, (synced.get(a.customerNumber!) ?? 0) + 1);
  expect(synced.size).toBe(N);
  expect([...synced.values()].filter((n) => n !== 1)).toEqual([]);
  // No try failed on the way, not even one a retry fixed later. Soft, so the checks below still run:
  // instances that start together on a fresh iPaaS.com account all create the missing custom
  // fields, and the ones that lose the race fail the records they hold with a 409 "already exists".
  const failedTries: Record<string, number> = {};
  for (const a of log.filter((x) => x.outcome !== 'synced')) {
    const key = `${a.instance} ${a.outcome}: ${a.reason}`;
    failedTries[key] = (failedTries[key] ?? 0) + 1;
  }
  expect.soft(failedTries, 'tries that did not sync, by instance and reason (count)').toEqual({});

  // The iPaaS.com emulator counts PUTs per route, not per customer: N PUTs in all, and every one of
  // the N customers carries a Last Response ID, distinct from every other's, so each got exactly one.
  expect((await emu.ipaasCounters()).byRoute[PUT]).toBe(N);
  const load = (await emu.customers()).filter((c) => c.customer_number?.startsWith('LOAD-'));
  expect(load).toHaveLength(N);
  const ids = load.map((c) => c.custom_fields.find((f) => f.custom_field_name.toLowerCase() === 'last response id')?.value);
  expect(ids.filter((v) => !v)).toEqual([]);
  expect(new Set(ids).size).toBe(N);
}

describe('three serve instances on one PostgreSQL database', () => {
  it(`a manual sync of ${N} customers through one instance: all three work, each customer written once, nothing left open`, async () => {
    const t0 = Date.now();
    const { emu, instances } = await threeInstances('shared', {});
    const [alpha, beta, gamma] = instances as [Instance, Instance, Instance];
    const runId = await startRun(alpha);

    await until(async () => {
      const c = await counts(beta);
      return c.written + c.skipped + c.failed === N && open(c) === 0;
    }, 240_000, `all ${N} jobs to finish`, 500);
    const took = Date.now() - t0;

    const log = await activity(gamma);
    await expectEachWrittenOnce(emu, alpha, runId, log);
    // Every customer here has a CustomerNumber (the one sample without one is not in the run): one call each.
    expect((await emu.openaiCounters()).completions).toBe(N);

    const perInstance = Object.fromEntries(NAMES.map((n) => [n, log.filter((a) => a.instance === n).length]));
    for (const n of NAMES) expect(perInstance[n], `attempts by ${n}: ${JSON.stringify(perInstance)}`).toBeGreaterThan(0);
    expect(log.filter((a) => !NAMES.includes(a.instance as never))).toEqual([]);

    for (const i of instances) {
      expect(open(await counts(i))).toBe(0);
      expect((await i.api('GET', '/readyz')).status).toBe(200);
    }
    console.log(`[several-instances] ${N} customers through 3 instances in ${took} ms; attempts per instance ${JSON.stringify(perInstance)}`);
  }, 300_000);

  it('one instance SIGKILLed a third of the way through: the other two take its jobs when its lease expires; no double writes', async () => {
    const LEASE_MS = 4_000;
    const { emu, db, instances } = await threeInstances('kill', { leaseMs: LEASE_MS });
    const [alpha, beta, gamma] = instances as [Instance, Instance, Instance];
    const runId = await startRun(alpha);

    // A third of the writes done, gamma among the writers and holding jobs now (on a slow machine the
    // other two can get that far before gamma's first record is through; killing it then tests nothing).
    const watch = new pg.Client({ connectionString: db });
    await watch.connect();
    try {
      await until(
        async () =>
          ((await emu.ipaasCounters()).byRoute[PUT] ?? 0) >= N / 3 &&
          (await watch.query(`SELECT 1 FROM sync_attempts WHERE instance = 'gamma' LIMIT 1`)).rowCount === 1 &&
          (await watch.query(`SELECT 1 FROM jobs WHERE lease_owner LIKE $1 AND state IN ('calling', 'answered') LIMIT 1`, [`worker@%:${gamma.child.pid}:%`])).rowCount === 1,
        180_000,
        'a third of the writes, some by gamma',
        100,
      );
    } finally {
      await watch.end();
    }
    gamma.child.kill('SIGKILL');
    await new Promise((r) => gamma.child.once('exit', r));
    const killedAt = Date.now();

    // What gamma held when it died, read straight from the database (nothing moves them before the lease expires).
    const raw = new pg.Client({ connectionString: db });
    await raw.connect();
    let held: Array<{ id: number; state: string; lease_until: number }>;
    try {
      held = (
        await raw.query(`SELECT id::int AS id, state, lease_until::float8 AS lease_until FROM jobs WHERE lease_owner LIKE $1 AND state IN ('calling', 'answered')`, [`worker@%:${gamma.child.pid}:%`])
      ).rows;
    } finally {
      await raw.end();
    }
    const inFlightCalls = held.filter((j) => j.state === 'calling').length;
    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(CONCURRENCY);

    await until(async () => {
      const c = await counts(alpha);
      return c.written + c.skipped + c.failed === N && open(c) === 0;
    }, 240_000, `the other two instances to finish all ${N} jobs`, 500);
    const finishedAt = Date.now();

    const log = await activity(beta);
    await expectEachWrittenOnce(emu, alpha, runId, log);

    // gamma's jobs were finished by alpha or beta, and only after gamma's lease ran out.
    const byJob = new Map(log.filter((a) => a.outcome === 'synced').map((a) => [a.jobId, a]));
    for (const j of held) {
      const a = byJob.get(j.id);
      if (!a) throw new Error(`gamma's job ${j.id} has no synced attempt: ${JSON.stringify((await alpha.api('GET', `/api/jobs/${j.id}`)).body)}`);
      expect(['alpha', 'beta']).toContain(a.instance);
      expect(Date.parse(a.startedAt), `job ${j.id} restarted before gamma's lease (until ${new Date(j.lease_until).toISOString()}) expired`).toBeGreaterThanOrEqual(j.lease_until - 50);
    }
    expect(log.some((a) => a.instance === 'gamma')).toBe(true);

    // OpenAI was paid twice only for calls gamma had in flight; a stored answer was written, not asked for again.
    const completions = (await emu.openaiCounters()).completions;
    expect(completions).toBeGreaterThanOrEqual(N);
    expect(completions).toBeLessThanOrEqual(N + inFlightCalls);
    console.log(
      `[several-instances] gamma SIGKILLed holding ${held.length} jobs (${inFlightCalls} calling); the others finished ${finishedAt - killedAt} ms later; completions ${completions} for ${N} customers`,
    );
  }, 300_000);
});
