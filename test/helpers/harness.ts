import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IpaasEmulatorOptions } from '../../emulators/ipaas/index.js';
import type { OpenAIEmulatorOptions } from '../../emulators/openai/index.js';
import { startEmulators, type RunningEmulators } from '../../emulators/start-emulators.js';
import type { CommandIO } from '../../src/cli/io.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load-config.js';
import { silentLogger } from '../../src/shared/logger.js';
import { openConnector, type Connector } from '../../src/app/connector.js';

export interface Harness {
  emulators: Required<Pick<RunningEmulators, 'ipaas' | 'openai'>> & RunningEmulators;
  dir: string;
  env: Record<string, string>;
  loaded: LoadedConfig;
  connector: Connector;
  io: CommandIO & { lines: string[]; errors: string[]; text(): string };
  close(): Promise<void>;
}

export interface HarnessOptions {
  ipaas?: IpaasEmulatorOptions;
  openai?: OpenAIEmulatorOptions;
  /** Config overrides merged over defaults (e.g. { openai: { api: 'chat' } }). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
}

export function captureIO(env: Record<string, string | undefined>, cwd: string): Harness['io'] {
  const lines: string[] = [];
  const errors: string[] = [];
  return { env, cwd, lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), text: () => [...lines, ...errors].join('\n') };
}

/** Both emulators on loopback, a temp dir for the SQLite log, and a connector wired to them. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const emulators = (await startEmulators({ ipaas: options.ipaas ?? true, openai: options.openai ?? true })) as Harness['emulators'];
  const dir = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-test-'));
  const env: Record<string, string> = {
    IPAAS_BASE_URL: emulators.ipaas.url,
    IPAAS_API_KEY: emulators.ipaas.apiKey,
    OPENAI_BASE_URL: emulators.openai.url,
    OPENAI_API_KEY: emulators.openai.apiKey,
    IPAAS_OPENAI_DB: path.join(dir, 'sync.db'),
    ...options.env,
  };
  const loaded = loadConfig({ env, cwd: dir, ...(options.config ? { overrides: options.config } : {}) });
  const connector = await openConnector(loaded, { logger: silentLogger() });
  return {
    emulators, dir, env, loaded, connector,
    io: captureIO(env, dir),
    async close() {
      await connector.close();
      await emulators.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
