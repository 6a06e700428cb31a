import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'dist/bin/main.js');
/** What users run: the launcher, which starts the compiled entry with the connector's V8 heap flags. */
export const LAUNCHER = path.join(ROOT, 'bin/ipaas-openai.js');

/**
 * Runs the compiled CLI in a child process; resolves once `ready` matches its output. The connector's
 * commands go through the launcher, as users run them; the emulators start on the entry directly, so
 * their share of the machine does not move with the connector's heap flags.
 */
export function startCli(args: string[], env: Record<string, string>, ready: RegExp, nodeArgs: string[] = []): Promise<{ child: ChildProcess; output: string; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [...nodeArgs, args[0] === 'emulate' ? ENTRY : LAUNCHER, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const t = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${output}`)), 30_000);
    const onData = (d: Buffer) => {
      output += d;
      const m = ready.exec(output);
      if (m) {
        clearTimeout(t);
        resolve({ child, output, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${output}`)));
  });
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('close', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
}

/**
 * Other work on the machine, without any traffic: `processes` Node processes, each busy for `duty` of
 * every 2 ms (so 3 at 0.5 take 1.5 cores, in slices like a busy service's). Each ends by itself after
 * `maxSeconds` even if this script dies; the returned function ends them now.
 */
export function burnCpu(processes: number, duty: number, maxSeconds: number): () => void {
  const on = 2 * duty;
  const off = 2 - on;
  const source = `const sab = new Int32Array(new SharedArrayBuffer(4)); const end = Date.now() + ${maxSeconds * 1000};
while (Date.now() < end) { const t = performance.now(); while (performance.now() - t < ${on}) {} if (${off} > 0) Atomics.wait(sab, 0, 0, ${off}); }`;
  const kids = Array.from({ length: processes }, () => spawn(process.execPath, ['-e', source], { stdio: 'ignore' }));
  return () => {
    for (const k of kids) if (k.exitCode === null && k.signalCode === null) k.kill('SIGKILL');
  };
}

/** CPU time (user + system) of a process, in ms, from /proc (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak resident memory of a process, in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** A small JSON HTTP client on a keep-alive agent, light enough not to be the bottleneck. */
export function request(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** The median (the mean of the two middle values of an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The item in the middle by `key` (the lower middle of an even count): a real run to report whole. */
export const middleBy = <T>(items: T[], key: (t: T) => number): T => [...items].sort((a, b) => key(a) - key(b))[Math.floor((items.length - 1) / 2)]!;

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
