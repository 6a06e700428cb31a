import type OpenAI from 'openai';
import type { ConnectorConfig } from '../config/schema.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import type { Budget } from '../pacing/budget.js';
import type { RateLimiter } from '../pacing/rate-limiter.js';
import type { StoredAttempt } from '../store/ports.js';
import type { Logger } from '../shared/logger.js';
import type { Redactor } from '../shared/redact.js';
import type { Storage } from '../store/ports.js';

/** What every step of a sync may use; built once by openConnector(). */
export interface SyncDeps {
  config: ConnectorConfig;
  ipaas: IpaasClient;
  openai: OpenAI;
  store: Storage;
  logger: Logger;
  redact: Redactor;
  now: () => Date;
  /** Paces OpenAI calls by the rate-limit headers (the service); absent for one-off CLI runs. */
  limiter?: RateLimiter | undefined;
  /** Spend caps; absent or without caps: no limit. */
  budget?: Budget | undefined;
  /** Told about every stored attempt (progress bars, metrics, spend). */
  onAttempt?: ((a: StoredAttempt) => void) | undefined;
}
