/**
 * `npm run bench`: the connector's figures, each measured against the emulators
 * in separate processes on this machine, with ratios taken in the same run.
 * Loopback only, bounded in count and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuMs, peakRssMb, percentile, pool, request, sleep, startCli, stop } from './lib.js';
import { bareScript } from './bare-script.js';

const WEBHOOK_KEY = 'bench-webhook-key-0000';
const ADMIN = 'bench-admin-token-000000';
const argN = (name: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);

async function emulators(args: string[]) {
  const e = await startCli(['emulate', 'all', '--port', '0', ...args], {}, /OPENAI_API_KEY=\S+/);
  const env = Object.fromEntries([...e.output.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return { child: e.child, env };
}

async function serve(env: Record<string, string>, dir: string, extra: string[] = []) {
  const s = await startCli(['serve', '--port', '0', ...extra], { ...env, IPAAS_OPENAI_DB: path.join(dir, 'bench.db'), IPAAS_WEBHOOK_KEY: WEBHOOK_KEY, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN }, /serving on (http:\/\/\S+)/, process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []);
  return { child: s.child, url: s.match[1]! };
}

/** Where a record's time goes, from the sync log (averages, ms). */
async function timings(db: string) {
  const { default: Database } = await import('better-sqlite3');
  const d = new Database(db, { readonly: true });
  const r = d.prepare(`SELECT avg(load_ms) AS load, avg(openai_ms) AS openai, avg(write_ms) AS write, avg(total_ms) AS total FROM sync_attempts WHERE outcome = 'synced'`).get();
  d.close();
  return r;
}

const webhookBody = (i: number, id: number) => ({ id: i, attempt: 1, notifications: [{ action: 'updated', id: String(id), scope: 'customer/updated', type: 'Customer', tracking_guid: `bench-${i}` }] });
const hook = (url: string, i: number, id: number) => request(`${url}/webhooks/ipaas`, 'POST', webhookBody(i, id), { authorization: `Bearer ${WEBHOOK_KEY}` });

async function waitDone(url: string, total: number, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = (await request(`${url}/api/jobs?limit=1`, 'GET')).body.counts;
    const done = c.written + c.skipped + c.failed;
    if (done >= total) return c;
    if (Date.now() > end) throw new Error(`only ${done}/${total} done in time: ${JSON.stringify(c)}`);
    await sleep(50);
  }
}

/** 1. Overhead: webhooks -> load -> OpenAI -> write-back, instant emulators, durable queue and full log on. */
async function overhead(n: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  const emu = await emulators(['--customers', String(n)]);
  try {
    // The bare script first: same chain, same emulators, no queue, no log, no webhooks.
    const bare = await bareScript(emu.env, n, 64);
    const s = await serve(emu.env, dir, ['--concurrency', '64']);
    const cpu0 = cpuMs(s.child.pid!);
    const emuCpu0 = cpuMs(emu.child.pid!);
    const t0 = performance.now();
    // Sample customers take ids 1-6; the synthetic ones follow.
    await pool(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
      const r = await hook(s.url, i, 7 + i);
      if (r.status !== 200) throw new Error(`webhook ${i}: ${r.status}`);
    });
    const counts = await waitDone(s.url, n, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs(s.child.pid!) - cpu0;
    const emulatorCpuMsPerRecord = (cpuMs(emu.child.pid!) - emuCpu0) / n;
    const stages = await timings(path.join(dir, 'bench.db'));
    const rss = peakRssMb(s.child.pid!);
    await stop(s.child);
    return { n, seconds, perSecond: n / seconds, cpuMsPerRecord: cpu / n, peakRssMb: rss, emulatorCpuMsPerRecord, stages, counts, bare };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 2. Rate limit: share of an emulated RPM limit used over a sustained run, and the 429 share. */
async function rateLimit(rpm: number, n: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  const emu = await emulators(['--customers', String(n), '--rpm', String(rpm), '--tpm', '100000000']);
  try {
    const s = await serve(emu.env, dir, ['--concurrency', '32']);
    const t0 = performance.now();
    const numbers = Array.from({ length: n }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`);
    const r = await request(`${s.url}/api/sync`, 'POST', { customerNumbers: numbers }, { authorization: `Bearer ${ADMIN}` });
    if (r.status !== 202) throw new Error(`manual sync: ${r.status} ${JSON.stringify(r.body)}`);
    const counts = await waitDone(s.url, n, 900_000);
    const minutes = (performance.now() - t0) / 60_000;
    const models = await request(`${emu.env.OPENAI_BASE_URL}/models`, 'GET', undefined, { authorization: `Bearer ${emu.env.OPENAI_API_KEY}` });
    void models;
    const stats = (await request(`${s.url}/readyz`, 'GET')).body;
    await stop(s.child);
    // Available over the run: the full bucket at the start plus what refilled while it ran.
    const available = rpm + rpm * minutes;
    return { rpm, n, minutes, share: counts.written / available, counts, limiter: stats.rateLimit };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 3. Webhook intake: acknowledged (durably stored) webhooks per second, and latency at a steady 1,000/s. */
async function intake(n: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  const emu = await emulators([]);
  try {
    const s = await serve(emu.env, dir, ['--no-workers']);
    const t0 = performance.now();
    await pool(Array.from({ length: n }, (_, i) => i), 64, async (i) => {
      if ((await hook(s.url, i, 100_000 + i)).status !== 200) throw new Error('webhook refused');
    });
    const maxPerSecond = n / ((performance.now() - t0) / 1000);
    // Steady 1,000/s for 5 s: one request every millisecond, latency from send to acknowledgement.
    const lat: number[] = [];
    const sends: Promise<void>[] = [];
    const start = performance.now();
    for (let i = 0; i < 5000; i++) {
      const due = start + i;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      sends.push((async () => {
        const t = performance.now();
        const r = await hook(s.url, n + i, 200_000 + i);
        if (r.status !== 200) throw new Error('webhook refused');
        lat.push(performance.now() - t);
      })());
    }
    await Promise.all(sends);
    const achieved = 5000 / ((performance.now() - start) / 1000);
    lat.sort((a, b) => a - b);
    await stop(s.child);
    return { maxPerSecond, steadyRate: achieved, p50: percentile(lat, 50), p99: percentile(lat, 99) };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const which = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const want = (name: string) => which.length === 0 || which.includes(name);
const results: Record<string, unknown> = {};
if (want('overhead')) results.overhead = await overhead(argN('records', 5000));
if (want('ratelimit')) results.rateLimit = await rateLimit(argN('rpm', 600), argN('rl-records', 900));
if (want('intake')) results.intake = await intake(argN('webhooks', 5000));
console.log(JSON.stringify(results, null, 2));
