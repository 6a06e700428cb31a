import type { ChildProcess } from 'node:child_process';
import { spawnCli } from './cli.js';
import { waitFor } from './service-harness.js';

/** Starts a CLI process and resolves once its output matches `ready`. */
export async function startCliProcess(args: string[], env: Record<string, string>, cwd: string, ready: RegExp): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawnCli(args, { cwd, env });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  await waitFor(() => ready.test(out), 20_000, `ipaas-openai ${args[0]} to start; output so far:\n${out}`);
  return { child, out: () => out };
}

/** `ipaas-openai emulate all` as its own process: the connector's env, and each emulator's control API. */
export async function startEmulatorProcess(cwd: string, customers: number) {
  const emu = await startCliProcess(['emulate', 'all', '--port', '0', '--customers', String(customers)], {}, cwd, /Control API: \S+ \(OpenAI/);
  const env = Object.fromEntries([...emu.out().matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  const control = (which: 'iPaaS.com' | 'OpenAI') => new RegExp(`Control API: (\\S+) \\(${which.replace('.', '\\.')}`).exec(emu.out())![1]!;
  const counters = async <T = Record<string, unknown>>(which: 'iPaaS.com' | 'OpenAI'): Promise<T> => {
    const key = which === 'OpenAI' ? env.OPENAI_API_KEY : env.IPAAS_API_KEY;
    return (await fetch(`${control(which)}counters`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.json())) as T;
  };
  const fault = async (which: 'iPaaS.com' | 'OpenAI', body: unknown) => {
    const key = which === 'OpenAI' ? env.OPENAI_API_KEY : env.IPAAS_API_KEY;
    return fetch(`${control(which)}faults`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  };
  return { child: emu.child, env, counters, fault };
}
