/**
 * The store's own cost on the queue's and the sync log's hot path (node:sqlite
 * through src/store/node-sqlite-driver.ts), in this process: the same store
 * calls per record as the service makes (webhook intake -> claim -> answer
 * stored -> log row + job end + sync state in one commit), 64 records in
 * flight through group commits, on a WAL file with the product's pragmas.
 * HTTP is left out (each network wait is a few event-loop turns), so the
 * figures are the store's own cost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulators } from '../emulators/start-emulators.js';
import { loadConfig } from '../src/config/load-config.js';
import type { ConnectorConfig } from '../src/config/schema.js';
import { PlanCache } from '../src/queue/plan-cache.js';
import { runJob, type StoredAnswer } from '../src/queue/run-job.js';
import { takeInWebhook } from '../src/triggers/webhook-intake.js';
import { createRedactor } from '../src/shared/redact.js';
import { silentLogger } from '../src/shared/logger.js';
import { openNodeSqlite } from '../src/store/sqlite/node-sqlite-driver.js';
import type { AttemptRecord, CustomerSyncState, Job } from '../src/store/ports.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { openConnector } from '../src/app/connector.js';
import { median } from './lib.js';


/** One real record's documents, from a real run of the job against the emulators: the shapes the log really stores. */
interface Fixture {
  config: ConnectorConfig;
  redact: (s: string) => string;
  attempt: AttemptRecord;
  answer: StoredAnswer;
  state: CustomerSyncState;
}

async function captureFixture(): Promise<Fixture> {
  const emu = await startEmulators({ ipaas: true, openai: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sqlite-capture-'));
  try {
    const env = {
      IPAAS_BASE_URL: emu.ipaas!.url, IPAAS_API_KEY: emu.ipaas!.apiKey, OPENAI_BASE_URL: emu.openai!.url, OPENAI_API_KEY: emu.openai!.apiKey,
      IPAAS_OPENAI_DB: path.join(dir, 'capture.db'),
    };
    const loaded = loadConfig({ env, cwd: dir });
    const deps = await openConnector(loaded, { logger: silentLogger() });
    try {
      const { job } = await deps.store.queue.enqueue({ ref: '1', refKind: 'id', customerId: '1', trigger: { source: 'webhook', event: 'updated' }, maxAttempts: 6 });
      const [claimed] = await deps.store.queue.claim('capture', 1, 60_000);
      await runJob(deps, new PlanCache(deps), claimed!);
      const stored = (await deps.store.log.list({ limit: 1 }))[0]!;
      const done = (await deps.store.queue.get(job.id))!;
      if (stored.outcome !== 'synced' || done.state !== 'written') throw new Error(`capture run did not sync: ${stored.outcome} ${stored.errorMessage}`);
      const { id: _id, ...attempt } = stored;
      return { config: loaded.config, redact: createRedactor(loaded.secrets), attempt, answer: done.answer as StoredAnswer, state: (await deps.store.state.get('1'))! };
    } finally {
      await deps.close();
    }
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per record: its own ids in otherwise real documents (what differs between real records). */
function recordsFrom(f: Fixture, n: number) {
  const cn = f.attempt.customerNumber!;
  const attemptJson = JSON.stringify(f.attempt);
  const answerJson = JSON.stringify(f.answer);
  return Array.from({ length: n }, (_, i) => {
    const customerId = String(100_000 + i);
    const number = `BENCH-${String(i).padStart(6, '0')}`;
    const swap = (json: string) => json.replaceAll(cn, number).replaceAll(f.attempt.responseId!, `resp_bench_${i}`);
    const attempt = JSON.parse(swap(attemptJson)) as AttemptRecord;
    Object.assign(attempt, { customerId, requestedRef: customerId });
    // As storeAnswer gets it: before the write, the usage is not yet logged.
    const { usageLogged: _logged, ...stored } = JSON.parse(swap(answerJson)) as StoredAnswer;
    const answer: StoredAnswer = { ...stored, customerId };
    const state: CustomerSyncState = { ...f.state, customerId, customerNumber: number, inputFingerprint: `fp-${i}-${f.state.inputFingerprint.slice(8)}`, lastResponseId: `resp_bench_${i}` };
    return { customerId, attempt, answer, state };
  });
}

// Network waits as event-loop turns, the same pseudo-random pattern every run (so group commits vary alike).
function turnsFor(seed: number) {
  let s = Math.imul(seed, 2654435761) & 0x7fffffff;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    return 1 + (s % 3);
  };
}
const turn = () => new Promise<void>((r) => setImmediate(r));
const turns = async (k: number) => {
  for (let i = 0; i < k; i++) await turn();
};

async function runOnce(f: Fixture, records: ReturnType<typeof recordsFrom>, opts: { concurrency: number; senders: number; timeoutMs: number }) {
  const n = records.length;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-sqlite-'));
  const file = path.join(dir, 'bench.db');
  // As openConnector opens it: WAL, synchronous NORMAL, checkpoints in a worker thread.
  const store = new SqliteStore(file, { redact: f.redact, backgroundCheckpoints: true, account: f.config.ipaas.baseUrl });
  const jobs = store.queue;
  const byCustomer = new Map(records.map((r, i) => [r.customerId, i]));
  const owner = `worker@bench:${process.pid}:sqlite`;
  const leaseMs = f.config.jobs.leaseMs;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let failure: unknown;
  const deadline = Date.now() + opts.timeoutMs;

  // runJob's store calls for a webhook:updated record that gets answered and written (src/queue/run-job.ts).
  async function work(job: Job) {
    const i = byCustomer.get(job.customerId!)!;
    const r = records[i]!;
    const next = turnsFor(i + 1);
    const started = performance.now();
    const a: AttemptRecord = { ...r.attempt, jobId: job.id, startedAt: new Date().toISOString() };
    await turns(next()); // plans.get()
    await store.state.get(job.customerId!); // the echo check's prior state
    await turns(next()); // GET customer, then the OpenAI call
    await jobs.storeAnswer(job, r.answer);
    await store.state.get(r.customerId); // completeWrite reads it again
    await turns(next()); // PUT write-back
    a.finishedAt = new Date().toISOString();
    a.totalMs = Math.round((performance.now() - started) * 100) / 100;
    const answer = { ...r.answer, usageLogged: true };
    await jobs.settle(job, { to: 'written', attempt: a, answer, syncState: r.state });
  }

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    // Webhook intake: each delivery committed (group commit) before it counts as received, as POST /webhooks/ipaas does.
    let sent = 0;
    const intake = Promise.all(Array.from({ length: opts.senders }, async () => {
      while (sent < n && failure === undefined) {
        const i = sent++;
        await turn(); // the request arrives
        const body = { id: `bench-${i}`, attempt: 1, notifications: [{ action: 'updated', id: records[i]!.customerId, scope: 'customer/updated', type: 'Customer', tracking_guid: `bench-${i}` }] };
        const res = await takeInWebhook(store, f.config, body, () => new Date(), f.redact);
        if (res.enqueued.length !== 1 || res.enqueued[0]!.coalesced) throw new Error(`webhook ${i} was not enqueued: ${JSON.stringify(res)}`);
        notify();
      }
    })).catch((err) => {
      failure ??= err;
      notify();
    });

    // The worker pool's loop (src/queue/worker-pool.ts): claim what is free, run it, wait for a wake-up.
    let inFlight = 0;
    let done = 0;
    while (done < n && failure === undefined) {
      if (Date.now() > deadline) throw new Error(`only ${done}/${n} records in ${opts.timeoutMs} ms`);
      const free = opts.concurrency - inFlight;
      let claimed = 0;
      if (free > 0) {
        const list = await jobs.claim(owner, free, leaseMs);
        claimed = list.length;
        for (const job of list) {
          inFlight++;
          work(job).then(
            () => {
              inFlight--;
              done++;
              notify();
            },
            (err) => {
              failure ??= err;
              notify();
            },
          );
        }
      }
      if (claimed > 0 && inFlight < opts.concurrency) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 250).unref();
      });
    }
    await intake;
    if (failure !== undefined) throw failure;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const counts = await jobs.counts();
    const logged = (store.db.prepare('SELECT count(*) AS n FROM sync_attempts').get() as { n: number }).n;
    if (counts.written !== n || logged !== n) throw new Error(`${counts.written} written, ${logged} logged, of ${n}`);
    return { records: n, seconds, perSecond: n / seconds, cpuMsPerRecord: (cpu.user + cpu.system) / 1000 / n };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the driver links: its SQLite version and the defaults the store does not set itself. */
function driverFacts() {
  const db = openNodeSqlite(':memory:');
  try {
    return {
      sqliteVersion: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      cacheSize: db.pragma('cache_size', { simple: true }),
    };
  } finally {
    db.close();
  }
}

export async function storeHotPath(n: number, repeats: number, concurrency = 64, senders = 32) {
  const startedAt = new Date().toISOString();
  const fixture = await captureFixture();
  const records = recordsFrom(fixture, n);
  const opts = { concurrency, senders, timeoutMs: Math.max(60_000, n * 20) };
  // One untimed run first: the first timed run would otherwise pay the JIT.
  await runOnce(fixture, records, opts);
  const runs: Array<{ repeat: number } & Awaited<ReturnType<typeof runOnce>>> = [];
  for (let r = 0; r < repeats; r++) runs.push({ repeat: r + 1, ...(await runOnce(fixture, records, opts)) });
  const docBytes = JSON.stringify(records[0]!.attempt.request).length + JSON.stringify(records[0]!.attempt.response).length;
  return {
    startedAt,
    node: process.version,
    driver: { module: 'node:sqlite', ...driverFacts() },
    records: n, repeats, concurrency, senders, requestPlusResponseBytes: docBytes,
    medianPerSecond: median(runs.map((x) => x.perSecond)),
    medianCpuMsPerRecord: median(runs.map((x) => x.cpuMsPerRecord)),
    runs,
  };
}
