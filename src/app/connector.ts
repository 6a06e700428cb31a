import { hostname } from 'node:os';
import type OpenAI from 'openai';
import type { LoadedConfig } from '../config/load-config.js';
import { IpaasClient } from '../ipaas/ipaas-client.js';
import { createOpenAIClient } from '../openai/openai-client.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRedactor } from '../shared/redact.js';
import { openStorage } from '../store/open-storage.js';
import { Budget } from '../pacing/budget.js';
import { RateLimiter } from '../pacing/rate-limiter.js';
import type { ConnectorConfig } from '../config/schema.js';
import type { SyncDeps } from './sync-deps.js';

/** This process's name among several instances: IPAAS_OPENAI_INSTANCE (or `instance:`), else host:pid. */
export function instanceName(config: ConnectorConfig): string {
  return config.instance ?? `${hostname()}:${process.pid}`;
}

export interface Connector extends SyncDeps {
  readonly instance: string;
  close(): Promise<void>;
}

export interface OpenConnectorOptions {
  logger?: Logger;
  /** Paces OpenAI calls; it also sees every response's rate-limit headers, retries included. */
  limiter?: RateLimiter;
  /** For OpenAI calls (the SDK's fetch); tests can count or fake them. */
  fetch?: typeof fetch;
  now?: () => Date;
}

/** Paces OpenAI calls by the configured limits (if any), the API Throttle Limit and the headers it learns. */
export function rateLimiterFor(config: ConnectorConfig, maxConcurrency = config.jobs.concurrency): RateLimiter {
  return new RateLimiter({ rpm: config.openai.rpm, tpm: config.openai.tpm, maxPerSecond: config.openai.throttlePerSecond, maxConcurrency });
}

/** The iPaaS.com client alone (preview and validate need no OpenAI key to start). */
export function ipaasFromConfig(loaded: LoadedConfig): IpaasClient {
  return new IpaasClient({ ...loaded.config.ipaas, redact: createRedactor(loaded.secrets) });
}

/** Everything a sync needs, built once from the resolved configuration. */
export async function openConnector(loaded: LoadedConfig, options: OpenConnectorOptions = {}): Promise<Connector> {
  const { config } = loaded;
  const redact = createRedactor(loaded.secrets);
  const instance = instanceName(config);
  const logger = options.logger ?? createLogger({ level: config.log.level, file: config.log.path, redact, instance });
  const ipaas = ipaasFromConfig(loaded);
  const openai: OpenAI = createOpenAIClient(config.openai, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.limiter ? { observe: options.limiter } : {}),
  });
  const store = await openStorage(config.store, { redact, account: config.ipaas.baseUrl, backgroundCheckpoints: true, instance });
  return {
    instance,
    config, ipaas, openai, store, logger, redact, limiter: options.limiter,
    budget: await Budget.open(config.budget, store.ledger),
    now: options.now ?? (() => new Date()),
    async close() {
      await store.close();
      await ipaas.close();
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}
