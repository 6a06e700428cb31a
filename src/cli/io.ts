import { createInterface } from 'node:readline/promises';
import { loadConfig, type LoadedConfig } from '../config/load-config.js';
import type { EntityName } from '../ipaas/entities.js';

/** What every command gets from the entry point; tests pass their own. */
export interface CommandIO {
  env: Record<string, string | undefined>;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface CommonOptions {
  config?: string | undefined;
  json?: boolean | undefined;
  /** Start afresh where the SQLite database that held acknowledged work vanished (--fresh). */
  fresh?: boolean | undefined;
  /** The iPaaS.com data model the command works on (default customer). */
  entity?: EntityName | undefined;
}

export function processIO(): CommandIO {
  return {
    env: process.env,
    cwd: process.cwd(),
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
  };
}

export function resolveConfig(io: CommandIO, options: CommonOptions): LoadedConfig {
  const loaded = loadConfig({ path: options.config, env: io.env, cwd: io.cwd });
  for (const w of loaded.warnings) io.err(`warning: ${w}`);
  return loaded;
}

export const usd = (n: number | null | undefined) => (n == null ? 'n/a' : `$${n < 0.01 ? n.toFixed(6) : n.toFixed(4)}`);

/** Asks [y/N]; Ctrl-C (or the run's stop signal) at the prompt is a no, not an error. */
export async function confirm(io: CommandIO, question: string, signal?: AbortSignal): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const asked = new AbortController();
  rl.on('SIGINT', () => asked.abort());
  signal?.addEventListener('abort', () => asked.abort(), { once: true });
  try {
    return /^y(es)?$/i.test((await rl.question(question, { signal: asked.signal })).trim());
  } catch (err) {
    if (asked.signal.aborted) {
      io.out('');
      return false;
    }
    throw err;
  } finally {
    rl.close();
  }
}
