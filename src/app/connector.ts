import { hostname } from 'node:os';
import type OpenAI from 'openai';
import type { LoadedConfig } from '../config/load-config.js';
import { IpaasClient } from '../ipaas/ipaas-client.js';
import { createOpenAIClient } from '../openai/openai-client.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createRedactor } from '../shared/redact.js';
import { openStorage } from '../store/open-storage.js';
import { sharedPacingOf } from '../store/ports.js';
import { Budget } from '../pacing/budget.js';
import { RateLimiter } from '../pacing/rate-limiter.js';
import { rateBudgetKey } from '../pacing/shared-rate-budget.js';
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
  /** Start afresh where the database that held acknowledged work vanished (--fresh; SQLite). */
  fresh?: boolean;
}

/** Paces OpenAI calls by the configured limits (if any), the API Throttle Limit and the headers it learns. */
export function rateLimiterFor(config: ConnectorConfig, maxConcurrency = config.jobs.concurrency): RateLimiter {
  return new RateLimiter({ rpm: config.openai.rpm, tpm: config.openai.tpm, maxPerSecond: config.openai.throttlePerSecond, maxConcurrency });
}

/** A warning at most once per `everyMs` (a store that is down fails every call). */
function throttledWarning(logger: Logger, everyMs: number, message?: string): (err: unknown, msg?: string) => void {
  let last = -Infinity;
  return (err, msg) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    logger.warn({ err }, msg ?? message ?? 'failed');
  };
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
  const store = await openStorage(config.store, { redact, account: config.ipaas.baseUrl, backgroundCheckpoints: true, instance, ...(options.fresh ? { fresh: true } : {}) });
  if (store.notice) logger.warn({ store: store.location }, store.notice);
  // Several instances on one store (PostgreSQL): one OpenAI rate budget, and spend caps counted over all of them.
  const shared = sharedPacingOf(store);
  if (shared && options.limiter) {
    const warn = throttledWarning(logger, 30_000);
    options.limiter.shareBudget(shared.rateBudget, rateBudgetKey(config.openai.baseUrl, config.openai.model), (err, during) =>
      warn(err, during === 'reserve' ? 'the shared OpenAI rate budget could not be read; calls wait and ask again' : 'reporting to the shared OpenAI rate budget failed; that report is lost'),
    );
  }
  // iPaaS.com's API Throttle Limit is the subscription's: counted over every instance too.
  if (shared && config.ipaas.throttlePerSecond) ipaas.shareThrottle(shared.rateBudget, `ipaas:${config.ipaas.baseUrl.replace(/\/+$/, '')}`);
  const sharing = shared ? { range: shared.spendRange, onError: throttledWarning(logger, 30_000, 'reading what the other instances spent failed; the spend caps use the last totals') } : undefined;
  return {
    instance,
    config, ipaas, openai, store, logger, redact, limiter: options.limiter,
    budget: await Budget.open(config.budget, store.ledger, Date.now, sharing),
    now: options.now ?? (() => new Date()),
    async close() {
      await store.close();
      await ipaas.close();
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
    },
  };
}
