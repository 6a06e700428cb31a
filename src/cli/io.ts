import { loadConfig, type LoadedConfig } from '../config/load-config.js';

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
