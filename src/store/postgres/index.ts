/**
 * The PostgreSQL adapter: every storage port in one database that several instances share.
 * See pg-queue.ts for how claims stay exclusive across instances.
 */
import { ConnectorError } from '../../shared/errors.js';
import type { SharedPacingPorts, SpendLedgerPort, Storage, SyncStatePort } from '../ports.js';
import { describeUrl, PgDatabase, STORE_DOWN_FIX } from './pg-database.js';
import { PgMessages } from './pg-messages.js';
import { PgPauses } from './pg-pauses.js';
import { PgQueue } from './pg-queue.js';
import { PgRateBudget } from './pg-rate-budget.js';
import { redaction } from '../redaction.js';
import { PgRetention } from './pg-retention.js';
import { PgRuns } from './pg-runs.js';
import { migrate } from './pg-schema.js';
import { PgSpendRange } from './pg-spend-range.js';
import { PgSyncLog } from './pg-sync-log.js';
import { PgPromptVersions, PgTrials } from './pg-trials.js';
import { PgViews } from './pg-views.js';

export interface PostgresStorageOptions {
  /** Secrets never reach the database: every text column and JSON document passes it. */
  redact?: (text: string) => string;
  /** The iPaaS.com account (base URL) the customer sync state belongs to. */
  account?: string;
  /** This process's name among several instances: its connections carry it (pg_stat_activity.application_name). */
  instance?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export { describeUrl };

export class PostgresStorage implements Storage, SharedPacingPorts {
  readonly engine = 'postgres' as const;
  readonly location: string;
  readonly queue: PgQueue;
  readonly log: PgSyncLog;
  readonly state: SyncStatePort;
  readonly runs: PgRuns;
  readonly pauses: PgPauses;
  readonly ledger: SpendLedgerPort;
  readonly views: PgViews;
  readonly prompts: PgPromptVersions;
  readonly trials: PgTrials;
  readonly messages: PgMessages;
  readonly retention: PgRetention;
  /** One OpenAI rate budget for every instance on this database. */
  readonly rateBudget: PgRateBudget;
  /** The ledger by stretch of time, for budgets that re-read it every second. */
  readonly spendRange: PgSpendRange;

  constructor(
    readonly db: PgDatabase,
    url: string,
    options: PostgresStorageOptions,
  ) {
    this.location = describeUrl(url);
    const r = redaction(options.redact ?? ((t) => t));
    this.log = new PgSyncLog(db, r, options.instance ?? null);
    this.queue = new PgQueue(db, this.log, r);
    if (options.account) this.queue.setAccount(options.account);
    this.runs = new PgRuns(db, this.queue);
    this.pauses = new PgPauses(db, r);
    this.views = new PgViews(db);
    this.prompts = new PgPromptVersions(db, r);
    this.trials = new PgTrials(db, r, options.instance ?? null);
    this.messages = new PgMessages(db, r, options.instance ?? null);
    this.retention = new PgRetention(db, () => this.queue.stateNamespace);
    this.rateBudget = new PgRateBudget(db);
    this.spendRange = new PgSpendRange(db);
    const queue = this.queue;
    this.state = { get: (customerId) => queue.customerState(customerId) };
    const log = this.log;
    this.ledger = { since: (iso) => log.spendSince(iso) };
  }

  async check(): Promise<void> {
    try {
      await this.db.query('SELECT 1');
    } catch (err) {
      if (err instanceof ConnectorError) throw err;
      throw new ConnectorError('STORE_UNAVAILABLE', `PostgreSQL at ${this.location} does not answer: ${(err as Error).message}.`, {
        retryable: true,
        cause: err,
        fix: STORE_DOWN_FIX,
      });
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Connects, brings the schema up to date (once, however many instances start together) and returns the ports. */
export async function openPostgresStorage(url: string, options: PostgresStorageOptions = {}): Promise<Storage> {
  const applicationName = `ipaas-openai${options.instance ? ` ${options.instance}` : ''}`.slice(0, 63);
  const db = new PgDatabase(url, { applicationName, ...(options.poolSize ? { max: options.poolSize } : {}) });
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return new PostgresStorage(db, url, options);
}
