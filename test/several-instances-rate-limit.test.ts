/**
 * One OpenAI rate budget for several instances, end to end: three `ipaas-openai serve` processes
 * (from source) on one PostgreSQL database, the emulators as a process of their own with OpenAI's
 * limit at 600 RPM, one manual sync of 900 customers. Together the three stay within the limit (the
 * emulator's own bucket answers 429 to anything above it: fewer than 1% of the calls) and use most of it.
 * Loopback only; every process, the cluster and the temp dir are gone afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, until } from './helpers/instances.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { startCliProcess } from './helpers/processes.js';

const N = 900;
const RPM = 600;
const NAMES = ['alpha', 'beta', 'gamma'] as const;
const ADMIN = 'admin-shared-rate-budget-0123456789';

let cluster: PostgresCluster | undefined;
const children: ChildProcess[] = [];
const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-rate-'));

beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => {
  await killAll(children);
  await cluster?.stop();
  rmSync(cwd, { recursive: true, force: true });
}, 30_000);

async function start(args: string[], env: Record<string, string>, ready: RegExp) {
  const p = await startCliProcess(args, env, cwd, ready);
  children.push(p.child);
  return p;
}

type Counts = Record<string, number | undefined>;

describe('three serve instances, one OpenAI rate limit', () => {
  it(`a sync of ${N} customers against a 600 RPM emulator: 429s under 1%, requests within the limit, most of it used`, async () => {
    const emu = await start(['emulate', 'all', '--port', '0', '--customers', String(N), '--rpm', String(RPM), '--tpm', '100000000', '--latency-ms', '100'], {}, /Control API: \S+ \(OpenAI/);
    const env = Object.fromEntries([...emu.out().matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const control = /Control API: (\S+) \(OpenAI/.exec(emu.out())![1]!;
    const openaiCounters = async () =>
      (await (await fetch(`${control}counters`, { headers: { authorization: `Bearer ${env.OPENAI_API_KEY}` } })).json()) as { completions: number; rateLimited: number; byPath: Record<string, number> };

    const db = await cluster!.createDatabase();
    const config = path.join(cwd, 'config.json');
    writeFileSync(config, JSON.stringify({ jobs: { concurrency: 16 }, log: { path: '-', level: 'warn' } }));
    const instances = await Promise.all(
      NAMES.map(async (name) => {
        const p = await start(['serve', '--port', '0', '--config', config], { ...env, IPAAS_OPENAI_DB: db, IPAAS_OPENAI_INSTANCE: name, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN }, /serving on (http:\/\/\S+)/);
        const url = /serving on (http:\/\/\S+)/.exec(p.out())![1]!;
        const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
          const res = await fetch(`${url}${route}`, {
            method,
            headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            signal: AbortSignal.timeout(30_000),
          });
          return (await res.json()) as T;
        };
        return { name, out: p.out, api };
      }),
    );
    const [alpha, beta] = instances as [(typeof instances)[0], (typeof instances)[0]];
    const counts = async () => (await beta.api<{ counts: Counts }>('GET', '/api/jobs?limit=1')).counts;
    const finished = (c: Counts) => (c.written ?? 0) + (c.skipped ?? 0) + (c.failed ?? 0);
    const numbers = Array.from({ length: N }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`);

    // One customer first: it creates the custom fields on the fresh account (instances racing to create them would fail records with a 409).
    await alpha.api('POST', '/api/sync', { customerNumbers: numbers.slice(0, 1) });
    await until(async () => finished(await counts()) === 1, 20_000, 'the first customer', 100);

    const before = await openaiCounters();
    const t0 = Date.now();
    await alpha.api('POST', '/api/sync', { customerNumbers: numbers.slice(1) });
    // The first RPM calls are a burst (the bucket starts full) whose pace is the machine's, not the
    // limit's: the use of the limit is measured after it, from the first sample past the burst.
    let paced: { at: number; completions: number } | undefined;
    await until(
      async () => {
        const done = (await openaiCounters()).completions - before.completions;
        if (!paced && done >= RPM) paced = { at: Date.now(), completions: done };
        return finished(await counts()) === N;
      },
      180_000,
      `all ${N} jobs to finish`,
      250,
    );
    const tEnd = Date.now();
    const seconds = (tEnd - t0) / 1000;
    const after = await openaiCounters();

    const completions = after.completions - before.completions;
    const rateLimited = after.rateLimited - before.rateLimited;
    const sent = (after.byPath['/v1/responses'] ?? 0) + (after.byPath['/v1/chat/completions'] ?? 0) - (before.byPath['/v1/responses'] ?? 0) - (before.byPath['/v1/chat/completions'] ?? 0);
    // The emulator's bucket: full at the start (less the warm-up call), then RPM/min.
    const admissible = RPM + (RPM * seconds) / 60;
    // After the burst: what was still to send, and how fast it went against the refill of RPM/min.
    const pacedCalls = completions - paced!.completions;
    const pacedSeconds = (tEnd - paced!.at) / 1000;
    const pacedRpm = (pacedCalls * 60) / pacedSeconds;
    const c = await counts();
    const raw = new pg.Client({ connectionString: db });
    await raw.connect();
    const perInstance = Object.fromEntries(
      (await raw.query(`SELECT instance, count(*)::int AS n FROM sync_attempts WHERE outcome = 'synced' GROUP BY instance ORDER BY instance`)).rows.map((r) => [r.instance, r.n]),
    );
    await raw.end();
    console.log(
      `[shared rate budget e2e] ${N - 1} customers in ${seconds.toFixed(1)} s; after the burst ${pacedCalls} calls in ${pacedSeconds.toFixed(1)} s = ${pacedRpm.toFixed(0)} RPM of ${RPM}: ` +
        `${sent} requests sent, ${completions} completions, ${rateLimited} 429s; counts ${JSON.stringify(c)}; activity per instance ${JSON.stringify(perInstance)}`,
    );
    expect(c.written).toBe(N);
    expect(rateLimited).toBeLessThan(0.01 * completions);
    expect(sent).toBeLessThanOrEqual(admissible + 0.01 * completions);
    // Most of the limit was used: once the burst was spent, the calls went at >= 90% of the refill rate.
    // (The last call's answer ends the clock, so a fully used limit measures a hair under RPM.)
    expect(pacedCalls).toBeGreaterThanOrEqual(100);
    expect(pacedRpm).toBeGreaterThanOrEqual(0.9 * RPM);
    for (const n of NAMES) expect(perInstance[n], `synced by ${n}`).toBeGreaterThan(0);
    for (const i of instances) expect(i.out()).not.toMatch(/shared OpenAI rate budget could not/);
  }, 240_000);
});
