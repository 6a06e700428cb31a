/**
 * `npm run bench`: the connector's figures, each measured against the emulators
 * in separate processes on this machine, with ratios taken in the same run.
 * Loopback only, bounded in count and time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { burnCpu, cpuMs, LAUNCHER, median, middleBy, peakRssMb, percentile, pool, request, sleep, startCli, stop } from './lib.js';
import { bareScript } from './bare-script.js';
import { plainNodeFloor } from './plain-node-floor.js';
import { storeHotPath } from './store-hot-path.js';
import { cluster } from './cluster.js';

const WEBHOOK_KEY = 'bench-webhook-key-0000';
const ADMIN = 'bench-admin-token-000000';
const argN = (name: string, d: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);

async function emulators(args: string[]) {
  const e = await startCli(['emulate', 'all', '--port', '0', ...args], {}, /OPENAI_API_KEY=\S+/);
  const env = Object.fromEntries([...e.output.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  return { child: e.child, env };
}

/** IPAAS_OPENAI_V8_FLAGS from the bench's own environment reaches the connector (to try other heap flags). */
const passV8Flags = (): Record<string, string> => (process.env.IPAAS_OPENAI_V8_FLAGS === undefined ? {} : { IPAAS_OPENAI_V8_FLAGS: process.env.IPAAS_OPENAI_V8_FLAGS });

async function serve(env: Record<string, string>, dir: string, extra: string[] = []) {
  const s = await startCli(['serve', '--port', '0', ...extra], { ...passV8Flags(), ...env, IPAAS_OPENAI_DB: path.join(dir, 'bench.db'), IPAAS_WEBHOOK_KEY: WEBHOOK_KEY, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN }, /serving on (http:\/\/\S+)/, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : []), ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [])]);
  return { child: s.child, url: s.match[1]! };
}

/** OpenAI HTTP requests (SDK retries included) and 429s, from the service's own /metrics. */
async function openaiCalls(url: string) {
  const { default: http } = await import('node:http');
  const text = await new Promise<string>((resolve, reject) =>
    http.get(`${url}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject),
  );
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
  return {
    requests: sum(/^ipaas_openai_upstream_request_duration_seconds_count\{[^}]*service="openai"[^}]*\} (\d+)/gm),
    rateLimited: sum(/^ipaas_openai_upstream_rate_limited_total\{service="openai"\} (\d+)/gm),
  };
}

/** Where a record's time goes, from the sync log (averages, ms). */
async function timings(db: string) {
  const { DatabaseSync } = await import('node:sqlite');
  const d = new DatabaseSync(db, { readOnly: true });
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

/** `serve` syncing the records n webhooks from 32 senders name, to the end: records/s, its CPU and peak RSS. */
async function serveRun(emuEnv: Record<string, string>, n: number, extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  try {
    const s = await serve({ ...emuEnv, ...extraEnv }, dir, ['--concurrency', '64']);
    const cpu0 = cpuMs(s.child.pid!);
    const t0 = performance.now();
    // Sample customers take ids 1-6; the synthetic ones follow.
    await pool(Array.from({ length: n }, (_, i) => i), 32, async (i) => {
      const r = await hook(s.url, i, 7 + i);
      if (r.status !== 200) throw new Error(`webhook ${i}: ${r.status}`);
    });
    const counts = await waitDone(s.url, n, 600_000);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuMs(s.child.pid!) - cpu0;
    const stages = await timings(path.join(dir, 'bench.db'));
    const rss = peakRssMb(s.child.pid!);
    await stop(s.child);
    return { seconds, perSecond: n / seconds, cpuMsPerRecord: cpu / n, peakRssMb: rss, stages, counts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 1. Overhead: webhooks -> load -> OpenAI -> write-back, instant emulators, durable queue and full log on.
 * The chains run interleaved, `repeats` times (floor, bare, serve, serve on V8's defaults; again): on a
 * shared machine one run's ratio moves by a third with the neighbours' load, so each ratio is taken
 * within one repeat and the median of them is reported; the headline figures are the median repeat's.
 */
async function overhead(n: number, repeats: number) {
  // Limits far above the load: three chains share one OpenAI emulator here, and its default 10,000 RPM
  // would otherwise throttle whichever runs last (the connector).
  const emu = await emulators(['--customers', String(n), '--rpm', '10000000', '--tpm', '10000000000']);
  try {
    const runs = [];
    for (let r = 0; r < repeats; r++) {
      // The bare script first: same chain, same emulators, no queue, no log, no webhooks (it creates the custom fields).
      const bare = await bareScript(emu.env, n, 64);
      // The plain-Node floor on the same customers.
      const floor = await plainNodeFloor(emu.env, n, 64);
      const emuCpu0 = cpuMs(emu.child.pid!);
      const served = await serveRun(emu.env, n);
      const emulatorCpuMsPerRecord = (cpuMs(emu.child.pid!) - emuCpu0) / n;
      // The same run on V8's own heap defaults (IPAAS_OPENAI_V8_FLAGS=''): what the launcher's heap flags trade.
      const v8 = await serveRun(emu.env, n, { IPAAS_OPENAI_V8_FLAGS: '' });
      runs.push({
        served, bare, floor, emulatorCpuMsPerRecord, serveToFloor: served.perSecond / floor.perSecond,
        v8Defaults: { perSecond: v8.perSecond, cpuMsPerRecord: v8.cpuMsPerRecord, peakRssMb: v8.peakRssMb, serveToFloor: v8.perSecond / floor.perSecond },
      });
    }
    const m = middleBy(runs, (x) => x.serveToFloor);
    return {
      n, repeats, ...m.served, emulatorCpuMsPerRecord: m.emulatorCpuMsPerRecord, bare: m.bare, floor: m.floor, serveToFloor: m.serveToFloor, v8Defaults: m.v8Defaults,
      // Medians over the repeats, each figure on its own (so they may come from different repeats).
      medians: {
        servePerSecond: median(runs.map((x) => x.served.perSecond)),
        serveCpuMsPerRecord: median(runs.map((x) => x.served.cpuMsPerRecord)),
        servePeakRssMb: median(runs.map((x) => x.served.peakRssMb)),
        bareCpuMsPerRecord: median(runs.map((x) => x.bare.cpuMsPerRecord)),
        floorPerSecond: median(runs.map((x) => x.floor.perSecond)),
        v8DefaultsServeToFloor: median(runs.map((x) => x.v8Defaults.serveToFloor)),
        v8DefaultsPeakRssMb: median(runs.map((x) => x.v8Defaults.peakRssMb)),
      },
      everyRepeat: runs.map((x) => ({
        serveToFloor: x.serveToFloor, servePerSecond: x.served.perSecond, serveCpuMsPerRecord: x.served.cpuMsPerRecord, servePeakRssMb: x.served.peakRssMb,
        floorPerSecond: x.floor.perSecond, barePerSecond: x.bare.perSecond, v8DefaultsServeToFloor: x.v8Defaults.serveToFloor, v8DefaultsPeakRssMb: x.v8Defaults.peakRssMb,
      })),
    };
  } finally {
    await stop(emu.child);
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
    const calls = await openaiCalls(s.url);
    await stop(s.child);
    // Available over the run: the full bucket at the start plus what refilled while it ran.
    const available = rpm + rpm * minutes;
    return { rpm, n, minutes, share: counts.written / available, openaiRequests: calls.requests, rateLimited: calls.rateLimited, share429: calls.rateLimited / Math.max(1, calls.requests), counts, limiter: stats.rateLimit };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 3. Webhook intake: acknowledged (durably stored) webhooks per second, and latency at a steady 1,000/s. */
/**
 * Webhooks at a steady 1,000/s (one a millisecond) for `count` ms; latency from send to acknowledgement,
 * over the whole run and in its first second (a fresh process runs cold code then).
 */
async function steadyHooks(url: string, count: number, first: number, idOf: (i: number) => number) {
  const lat: number[] = [];
  const later: number[] = [];
  let firstSecondMax = 0;
  const sends: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + i;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    sends.push((async () => {
      const t = performance.now();
      const r = await hook(url, first + i, idOf(i));
      if (r.status !== 200) throw new Error('webhook refused');
      const ms = performance.now() - t;
      lat.push(ms);
      if (t - start < 1000) firstSecondMax = Math.max(firstSecondMax, ms);
      else later.push(ms);
    })());
  }
  await Promise.all(sends);
  const achieved = count / ((performance.now() - start) / 1000);
  lat.sort((a, b) => a - b);
  later.sort((a, b) => a - b);
  // Without the first second (a fresh process runs cold code then): what a long-running serve gives.
  const afterFirstSecond = { p50: percentile(later, 50), p99: percentile(later, 99), max: later.at(-1) ?? 0 };
  return { count, steadyRate: achieved, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1)!, firstSecondMax, afterFirstSecond };
}

/**
 * The intake alone (no workers in the process) at 1,000/s while other processes keep 0, 1 or 1.5 of the
 * 2 cores busy (1 and 1.5 bracket what the workers and the emulators use in the run with workers):
 * how much of that run's tail the machine's contention sets, whatever the connector does inside its
 * own process. Interleaved and repeated, since other tenants' load moves a p99 from run to run.
 */
const BESIDE_LOAD = [{ processes: 0, duty: 0 }, { processes: 1, duty: 1 }, { processes: 3, duty: 0.5 }];

async function intake(n: number, withWorkersSeconds: number, repeats: number, besideLoadSeconds: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-'));
  // Every webhook of the run with workers names a customer that exists: each is synced for real.
  const emu = await emulators(['--customers', String(withWorkersSeconds * 1000 + 10)]);
  try {
    const s = await serve(emu.env, dir, ['--no-workers']);
    const t0 = performance.now();
    await pool(Array.from({ length: n }, (_, i) => i), 64, async (i) => {
      if ((await hook(s.url, i, 100_000 + i)).status !== 200) throw new Error('webhook refused');
    });
    const maxPerSecond = n / ((performance.now() - t0) / 1000);
    const alone = await steadyHooks(s.url, 5000, n, (i) => 200_000 + i);
    const besideLoadRuns: Array<{ load: (typeof BESIDE_LOAD)[number]; p50: number; p99: number }> = [];
    let first = n + 5000;
    for (let r = 0; r < (besideLoadSeconds > 0 ? repeats : 0); r++) {
      for (const load of BESIDE_LOAD) {
        const end = burnCpu(load.processes, load.duty, besideLoadSeconds + 30);
        try {
          // The first second is left out here too: the burners start with it.
          const { afterFirstSecond } = await steadyHooks(s.url, besideLoadSeconds * 1000, first, (i) => 300_000 + i);
          besideLoadRuns.push({ load, p50: afterFirstSecond.p50, p99: afterFirstSecond.p99 });
        } finally {
          end();
        }
        first += besideLoadSeconds * 1000;
      }
    }
    const besideLoad = BESIDE_LOAD.map((load) => {
      const runs = besideLoadRuns.filter((x) => x.load === load);
      return { otherCores: load.processes * load.duty, ...load, medianP50: median(runs.map((x) => x.p50)), medianP99: median(runs.map((x) => x.p99)), p99s: runs.map((x) => x.p99) };
    }).filter((x) => x.p99s.length > 0);
    await stop(s.child);
    // The load: 1,000/s for 30 s while the workers sync every record it names (iPaaS.com
    // redelivers what it thinks timed out). More arrive than the workers finish, so they never idle.
    // Repeated, each on fresh emulators (the OpenAI emulator's request bucket starts full each time: the
    // same load every repeat), a fresh serve and database: a tail percentile of one run moves with the
    // neighbours' load.
    await stop(emu.child);
    const runs = [];
    for (let r = 0; r < repeats; r++) {
      const fresh = await emulators(['--customers', String(withWorkersSeconds * 1000 + 10)]);
      try {
        const w = await serve(fresh.env, path.join(dir, `workers-${r}`), ['--concurrency', '64']);
        const hooks = await steadyHooks(w.url, withWorkersSeconds * 1000, 10 * n, (i) => 7 + i);
        const synced = (await request(`${w.url}/api/jobs?limit=1`, 'GET')).body.counts;
        await stop(w.child);
        runs.push({ ...hooks, seconds: withWorkersSeconds, writtenMeanwhile: synced.written as number });
      } finally {
        await stop(fresh.child);
      }
    }
    const withWorkers = { ...middleBy(runs, (x) => x.afterFirstSecond.p99), repeats, everyRepeat: runs.map((x) => ({ p50: x.p50, p99: x.p99, afterFirstSecond: x.afterFirstSecond, writtenMeanwhile: x.writtenMeanwhile })) };
    return { maxPerSecond, ...alone, besideLoad, withWorkers };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `sync --all --yes` as a child process to the end; returns its summary, wall time, CPU and peak RSS. */
async function syncAll(env: Record<string, string>, dir: string, extra: string[], nodeArgs: string[] = []) {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [...nodeArgs, LAUNCHER, 'sync', '--all', '--yes', '--json', ...extra], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...passV8Flags(), ...env, IPAAS_OPENAI_DB: path.join(dir, 'bulk.db') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let peak = 0;
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, peakRssMb(child.pid!));
    } catch {
      /* exited */
    }
  }, 200);
  const t0 = performance.now();
  let cpu = 0;
  const cpuSampler = setInterval(() => {
    try {
      cpu = cpuMs(child.pid!);
    } catch {
      /* exited */
    }
  }, 200);
  const code = await new Promise<number | null>((r) => child.on('close', r));
  clearInterval(sampler);
  clearInterval(cpuSampler);
  const seconds = (performance.now() - t0) / 1000;
  const summaryLine = out.split('\n').find((l) => l.startsWith('{"summary"'));
  const estimateLine = out.split('\n').find((l) => l.startsWith('{"estimate"'));
  if (!summaryLine) throw new Error(`sync --all ${extra.join(' ')} printed no summary (exit ${code}): ${out.slice(-2000)}`);
  return { code, seconds, peakRssMb: peak, cpuMs: cpu, summary: JSON.parse(summaryLine).summary, estimate: estimateLine ? JSON.parse(estimateLine).estimate : undefined };
}

/** 4. Bulk: 100,000 customers through sync --all (peak RSS), batch vs direct, and direct under an RPM limit. */
async function bulk(records: number, directRecords: number, rpm: number) {
  const results: Record<string, unknown> = {};
  for (const mode of ['batch', 'direct'] as const) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-bulk-'));
    const emu = await emulators(['--customers', String(records), '--batch-speed', 'fast']);
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'ipaas-openai.yaml'), 'batch:\n  pollMinMs: 500\n  pollMaxMs: 2000\njobs:\n  concurrency: 64\n');
      const r = await syncAll(emu.env, dir, mode === 'batch' ? ['--batch'] : []);
      results[mode] = { records: r.summary.total, seconds: r.seconds, perSecond: r.summary.total / r.seconds, peakRssMb: r.peakRssMb, costUsd: r.summary.costUsd, written: r.summary.counts.written, failed: r.summary.counts.failed, estimate: r.estimate && { directUsd: r.estimate.directUsd, batchUsd: r.estimate.batchUsd, inputTokensPerRecord: r.estimate.inputTokensPerRecord }, inputTokens: r.summary.inputTokens };
    } finally {
      await stop(emu.child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Direct mode against a limit that binds: the share of it that is used.
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-bulk-'));
  const emu = await emulators(['--customers', String(directRecords), '--rpm', String(rpm), '--tpm', '100000000']);
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path.join(dir, 'ipaas-openai.yaml'), 'jobs:\n  concurrency: 64\n');
    const r = await syncAll(emu.env, dir, []);
    const minutes = r.seconds / 60;
    results.directLimited = { records: r.summary.total, rpm, seconds: r.seconds, perSecond: r.summary.total / r.seconds, shareOfLimit: r.summary.counts.written / (rpm + rpm * minutes), peakRssMb: r.peakRssMb };
  } finally {
    await stop(emu.child);
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** 5. Memory: the same direct backfill with V8's default heap sizing and with a capped old space. */
async function memory(records: number) {
  const out: Record<string, unknown> = {};
  // The launcher's heap flags, then V8's own defaults (IPAAS_OPENAI_V8_FLAGS='').
  for (const [name, v8] of [['launcherFlags', {}], ['v8Defaults', { IPAAS_OPENAI_V8_FLAGS: '' }]] as const) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-mem-'));
    const emu = await emulators(['--customers', String(records)]);
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'ipaas-openai.yaml'), 'jobs:\n  concurrency: 64\n');
      const r = await syncAll({ ...emu.env, ...v8 }, dir, []);
      out[name] = { records: r.summary.total, seconds: r.seconds, perSecond: r.summary.total / r.seconds, peakRssMb: r.peakRssMb, cpuMsPerRecord: r.cpuMs / r.summary.total };
    } finally {
      await stop(emu.child);
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

const which = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const want = (name: string) => which.length === 0 || which.includes(name);
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version };
const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
const { ROOT } = await import('./lib.js');
const RESULTS = path.join(ROOT, 'bench/results.json');
// A run of named sections replaces only those in results.json (stamped with this run), keeping the figures of other runs.
const earlier = which.length && existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, unknown>) : undefined;
// Each section is printed and saved as it finishes, so a long run keeps what it measured.
const record = (name: string, value: unknown) => {
  results[name] = earlier && value && typeof value === 'object' ? { startedAt: results.startedAt, node: results.node, ...value } : value;
  console.log(JSON.stringify({ [name]: value }, null, 2));
  const sections = Object.fromEntries(Object.entries(results).filter(([k]) => k !== 'startedAt' && k !== 'node'));
  writeFileSync(RESULTS, `${JSON.stringify(earlier ? { ...earlier, ...sections } : results, null, 2)}\n`);
};
if (want('overhead')) record('overhead', await overhead(argN('records', 5000), argN('overhead-repeats', 5)));
if (want('ratelimit')) record('rateLimit', await rateLimit(argN('rpm', 600), argN('rl-records', 900)));
if (want('intake')) record('intake', await intake(argN('webhooks', 5000), argN('intake-seconds', 30), argN('intake-repeats', 3), argN('intake-beside-load-seconds', 15)));
if (which.includes('memory')) record('memory', await memory(argN('memory-records', 20_000)));
if (want('store')) record('store', await storeHotPath(argN('store-records', 5000), argN('store-repeats', 3)));
if (want('cluster')) record('cluster', await cluster(argN('cluster-records', 3000), argN('cluster-concurrency', 32), argN('cluster-limit-records', 900), argN('cluster-rpm', 600)));
if (want('bulk')) record('bulk', await bulk(argN('bulk-records', 100_000), argN('bulk-direct-records', 10_000), argN('bulk-rpm', 3000)));
