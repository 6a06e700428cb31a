/**
 * Several instances on PostgreSQL against one on SQLite, in one run: the same manual sync of N
 * customers (POST /api/sync to the first instance), instant emulators, then the share of an emulated
 * RPM limit that three instances use together. A throwaway PostgreSQL cluster (initdb/pg_ctl, loopback,
 * temp dir) is started here and stopped at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startPostgres } from '../test/helpers/postgres.js';
import { cpuMs, request, sleep, startCli, stop } from './lib.js';

const ADMIN = 'bench-admin-token-000000';
const numbers = (n: number, from = 0) => Array.from({ length: n - from }, (_, i) => `LOAD-${String(from + i).padStart(6, '0')}`);

/** Busy CPU of the whole machine (every process: connectors, emulators, PostgreSQL), in ms. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) * 10;
}

async function emulators(args: string[]) {
  const e = await startCli(['emulate', 'all', '--port', '0', ...args], {}, /Control API: \S+ \(OpenAI/);
  const env = Object.fromEntries([...e.output.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const control = /Control API: (\S+) \(OpenAI/.exec(e.output)![1]!;
  const counters = async () => (await request(`${control}counters`, 'GET', undefined, { authorization: `Bearer ${env.OPENAI_API_KEY}` })).body as { completions: number; rateLimited: number };
  return { child: e.child, env, counters };
}

async function instances(k: number, db: string, env: Record<string, string>, dir: string, concurrency: number) {
  const config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ jobs: { concurrency }, log: { path: path.join(dir, 'connector.log'), level: 'info' } }));
  return Promise.all(
    Array.from({ length: k }, async (_, i) => {
      const s = await startCli(['serve', '--port', '0', '--config', config], { ...env, IPAAS_OPENAI_DB: db, IPAAS_OPENAI_INSTANCE: `bench-${i}`, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN }, /serving on (http:\/\/\S+)/);
      return { child: s.child as ChildProcess, url: s.match[1]! };
    }),
  );
}

const auth = { authorization: `Bearer ${ADMIN}` };
async function finished(url: string): Promise<number> {
  const c = (await request(`${url}/api/jobs?limit=1`, 'GET', undefined, auth)).body.counts;
  return c.written + c.skipped + c.failed;
}
async function waitFinished(url: string, total: number, timeoutMs: number, onSample?: () => Promise<void>) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await onSample?.();
    if ((await finished(url)) >= total) return;
    if (Date.now() > end) throw new Error(`only ${await finished(url)}/${total} done in ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One manual sync of `n` customers through `k` instances on `db`; records/s and CPU per record. */
async function throughput(k: number, db: (dir: string) => Promise<string>, n: number, concurrency: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-cluster-'));
  const emu = await emulators(['--customers', String(n), '--rpm', '100000000', '--tpm', '100000000000']);
  const started: ChildProcess[] = [];
  try {
    const url = await db(dir);
    const serves = await instances(k, url, emu.env, dir, concurrency);
    started.push(...serves.map((s) => s.child));
    // One customer first creates the custom fields on the fresh account, outside the measurement.
    await request(`${serves[0]!.url}/api/sync`, 'POST', { customerNumbers: numbers(1) }, auth);
    await waitFinished(serves[0]!.url, 1, 60_000);
    const cpu0 = serves.map((s) => cpuMs(s.child.pid!));
    const busy0 = machineBusyMs();
    const t0 = performance.now();
    const r = await request(`${serves[0]!.url}/api/sync`, 'POST', { customerNumbers: numbers(n, 1) }, auth);
    if (r.status !== 202) throw new Error(`manual sync: ${r.status} ${JSON.stringify(r.body)}`);
    await waitFinished(serves[0]!.url, n, 900_000);
    const seconds = (performance.now() - t0) / 1000;
    const connectorCpu = serves.reduce((a, s, i) => a + cpuMs(s.child.pid!) - cpu0[i]!, 0);
    const machineCpu = machineBusyMs() - busy0;
    return { instances: k, records: n - 1, seconds, perSecond: (n - 1) / seconds, connectorCpuMsPerRecord: connectorCpu / (n - 1), machineCpuMsPerRecord: machineCpu / (n - 1) };
  } finally {
    await Promise.all(started.map(stop));
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Three instances against an emulated `rpm`: the share of the limit used once the first full bucket is spent, and the 429s. */
async function sharedLimit(db: string, n: number, rpm: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-cluster-'));
  const emu = await emulators(['--customers', String(n), '--rpm', String(rpm), '--tpm', '100000000', '--latency-ms', '100']);
  const started: ChildProcess[] = [];
  try {
    const serves = await instances(3, db, emu.env, dir, 16);
    started.push(...serves.map((s) => s.child));
    await request(`${serves[0]!.url}/api/sync`, 'POST', { customerNumbers: numbers(1) }, auth);
    await waitFinished(serves[0]!.url, 1, 60_000);
    const before = await emu.counters();
    await request(`${serves[0]!.url}/api/sync`, 'POST', { customerNumbers: numbers(n, 1) }, auth);
    let paced: { at: number; completions: number } | undefined;
    await waitFinished(serves[0]!.url, n, 900_000, async () => {
      const done = (await emu.counters()).completions - before.completions;
      if (!paced && done >= rpm) paced = { at: performance.now(), completions: done };
    });
    const end = performance.now();
    const after = await emu.counters();
    const completions = after.completions - before.completions;
    const pacedCalls = completions - paced!.completions;
    const pacedMinutes = (end - paced!.at) / 60_000;
    return { instances: 3, rpm, records: n - 1, pacedCalls, shareOfLimit: pacedCalls / (rpm * pacedMinutes), rateLimited: after.rateLimited - before.rateLimited, completions };
  } finally {
    await Promise.all(started.map(stop));
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function cluster(n: number, concurrency: number, limitRecords: number, rpm: number) {
  const pg = await startPostgres();
  try {
    const sqlite = await throughput(1, async (dir) => path.join(dir, 'bench.db'), n, concurrency);
    const onPg = [];
    for (const k of [1, 2, 3]) onPg.push(await throughput(k, () => pg.createDatabase(), n, concurrency));
    const limit = await sharedLimit(await pg.createDatabase(), limitRecords, rpm);
    return {
      sqlite,
      postgres: onPg,
      ratios: Object.fromEntries(onPg.map((p) => [`postgres${p.instances}ToSqlite`, { perSecond: p.perSecond / sqlite.perSecond, connectorCpuMsPerRecord: p.connectorCpuMsPerRecord / sqlite.connectorCpuMsPerRecord }])),
      sharedLimit: limit,
    };
  } finally {
    await pg.stop();
  }
}
