/**
 * Several `ipaas-openai serve` processes on one database, for tests: the compiled CLI
 * (bin/ipaas-openai.js, built by `npm run build`) as real child processes, the emulators as one
 * more, and a throwaway PostgreSQL server that can be stopped and started again keeping its data.
 *
 * Every child is added to the caller's `track` list the moment it is spawned, so an afterAll can
 * kill it even when it never became ready.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './cli.js';
import { findPostgresBin, type PostgresCluster } from './postgres.js';

const run = promisify(execFile);
const BIN = path.join(REPO_ROOT, 'bin/ipaas-openai.js');
/** Node 24 from runtime/ (the system's may be older; bin/ would then re-spawn and the pid would be the launcher's). */
const NODE = existsSync(path.join(REPO_ROOT, 'node_modules/.bin/node')) ? path.join(REPO_ROOT, 'node_modules/.bin/node') : process.execPath;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` (not a busy loop: these conditions call HTTP APIs). */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 250): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`);
    await sleep(everyMs);
  }
}

export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGKILLs every child still running and waits until each has gone. */
export async function killAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (!isAlive(c)) return;
      const closed = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await Promise.race([closed, sleep(5_000)]);
    }),
  );
}

/** The compiled CLI as a child process; only the env named here (no keys from the developer's shell). */
export function spawnBuilt(args: string[], env: Record<string, string>, cwd: string, track: ChildProcess[]): { child: ChildProcess; out: () => string } {
  if (!existsSync(path.join(REPO_ROOT, 'dist/bin/main.js'))) throw new Error('The CLI is not built: run `npm run build` first.');
  const child = spawn(NODE, [BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  track.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out };
}

async function ready(p: { child: ChildProcess; out: () => string }, re: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  await until(() => re.test(p.out()) || !isAlive(p.child), timeoutMs, `${what} to start; output so far:\n${p.out()}`, 50);
  const m = re.exec(p.out());
  if (!m) throw new Error(`${what} exited (${p.child.exitCode ?? p.child.signalCode}) before it was ready:\n${p.out()}`);
  return m;
}

export interface Emulators {
  child: ChildProcess;
  /** IPAAS_BASE_URL, IPAAS_API_KEY, OPENAI_BASE_URL, OPENAI_API_KEY. */
  env: Record<string, string>;
  ipaasCounters(): Promise<{ byRoute: Record<string, number>; customerWrites: number }>;
  openaiCounters(): Promise<{ completions: number; byPath: Record<string, number>; aborted: number }>;
  /** Every customer, read through the iPaaS.com API (paged). */
  customers(): Promise<EmulatedCustomer[]>;
}

export interface EmulatedCustomer {
  id: number;
  customer_number: string | null;
  custom_fields: Array<{ custom_field_name: string; value: string }>;
}

/** `emulate all` with `customers` synthetic customers (LOAD-000000…, ids from 7), OpenAI limits far above the load. */
export async function startEmulators(cwd: string, customers: number, track: ChildProcess[], extra: string[] = ['--rpm', '1000000', '--tpm', '1000000000']): Promise<Emulators> {
  const p = spawnBuilt(['emulate', 'all', '--port', '0', '--customers', String(customers), ...extra], {}, cwd, track);
  await ready(p, /Control API: \S+ \(OpenAI/, 'the emulators');
  const env = Object.fromEntries([...p.out().matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const control = (which: 'iPaaS' | 'OpenAI') => new RegExp(`Control API: (\\S+) \\(${which}`).exec(p.out())![1]!;
  const get = async (url: string, key: string) => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${await r.text()}`);
    return r;
  };
  return {
    child: p.child,
    env,
    ipaasCounters: async () => (await get(`${control('iPaaS')}counters`, env.IPAAS_API_KEY!)).json() as never,
    openaiCounters: async () => (await get(`${control('OpenAI')}counters`, env.OPENAI_API_KEY!)).json() as never,
    async customers() {
      const all: EmulatedCustomer[] = [];
      for (let page = 1; ; page++) {
        const r = await get(`${env.IPAAS_BASE_URL}/customers/v2/Customers?pageNumber=${page}&pageSize=100`, env.IPAAS_API_KEY!);
        const pagination = JSON.parse(r.headers.get('x-pagination') ?? '{}') as { has_Next?: boolean };
        all.push(...((await r.json()) as EmulatedCustomer[]));
        if (!pagination.has_Next) return all;
      }
    },
  };
}

export interface Instance {
  name: string;
  child: ChildProcess;
  url: string;
  out(): string;
  /** Calls its HTTP API with the admin token; `timeoutMs` bounds the whole call (a hang is an error). */
  api<T = any>(method: string, route: string, body?: unknown, timeoutMs?: number): Promise<{ status: number; body: T }>;
}

/** One `serve --port 0` named `name` (IPAAS_OPENAI_INSTANCE); resolves once it listens. */
export async function startInstance(name: string, o: { env: Record<string, string>; cwd: string; config?: string; adminToken: string; track: ChildProcess[] }): Promise<Instance> {
  const args = ['serve', '--port', '0', ...(o.config ? ['--config', o.config] : [])];
  const p = spawnBuilt(args, { ...o.env, IPAAS_OPENAI_INSTANCE: name, IPAAS_OPENAI_ADMIN_TOKEN: o.adminToken }, o.cwd, o.track);
  const url = (await ready(p, /serving on (http:\/\/\S+)/, `serve ${name}`))[1]!;
  return {
    name,
    child: p.child,
    url,
    out: p.out,
    async api(method, route, body, timeoutMs = 30_000) {
      const res = await fetch(`${url}${route}`, {
        method,
        headers: { authorization: `Bearer ${o.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

/** A config file (JSON) in `dir`; the built-in defaults fill in everything it leaves out. */
export function writeConfig(dir: string, name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** initdb refuses root: as root the cluster belongs to `postgres` (as in postgres.ts). */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * Stops and starts the server of a cluster made by startPostgres(), keeping its data directory and
 * port: the database "goes away" and comes back with everything it had committed. `ensureRunning()`
 * in an afterAll leaves the cluster as startPostgres() expects it for its own stop().
 */
export function serverControl(cluster: PostgresCluster) {
  const bin = findPostgresBin()!;
  const ctl = path.join(bin, 'pg_ctl');
  const data = path.join(cluster.dir, 'data');
  const socket = path.join(cluster.dir, 'socket');
  const logFile = path.join(cluster.dir, 'server.log');
  let running = true;
  return {
    get running() {
      return running;
    },
    /** `fast`: a clean shutdown (clients are disconnected, committed work is on disk). */
    async stop(mode: 'fast' | 'immediate' = 'fast') {
      const [cmd, args] = asOwner(ctl, ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      await run(cmd, args);
      running = false;
    },
    async start() {
      const opts = `-c listen_addresses=127.0.0.1 -p ${cluster.port} -k ${socket} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
      const [cmd, args] = asOwner(ctl, ['start', '-w', '-t', '60', '-D', data, '-l', logFile, '-o', opts]);
      try {
        await run(cmd, args);
      } catch (err) {
        throw new Error(`pg_ctl start failed: ${(err as Error).message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : ''}`);
      }
      running = true;
    },
    async ensureRunning() {
      if (!running) await this.start();
    },
  };
}
