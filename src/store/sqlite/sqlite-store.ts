import { mkdirSync, statSync } from 'node:fs';
import { ConnectorError } from '../../shared/errors.js';
import path from 'node:path';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { DashboardQueries } from './dashboard-queries.js';
import { MIGRATIONS } from './migrations.js';
import { openNodeSqlite } from './node-sqlite-driver.js';
import { SqliteBulkStore } from './sqlite-bulk-store.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqlitePauseStore } from './sqlite-pause-store.js';
import { SqliteSyncLog } from './sqlite-sync-log.js';
import { SqlitePromptVersions, SqliteTrials } from './sqlite-trials.js';
import type { SqliteDatabase } from './sqlite-database.js';
import type { SpendLedgerPort, Storage, SyncStatePort } from '../ports.js';

export interface SqliteStoreOptions {
  redact?: (text: string) => string;
  /** Checkpoint the WAL from a worker thread instead of on the committing thread. */
  backgroundCheckpoints?: boolean;
  /** The iPaaS.com account (base URL) the customer sync state belongs to. */
  account?: string;
  /** This process's name, recorded on every attempt it logs. */
  instance?: string;
}

/** The embedded default: every port in one SQLite file (WAL), for one process on one machine. */
export class SqliteStore implements Storage {
  readonly engine = 'sqlite' as const;
  readonly db: SqliteDatabase;
  readonly queue: SqliteJobStore;
  readonly log: SqliteSyncLog;
  readonly runs: SqliteBulkStore;
  readonly pauses: SqlitePauseStore;
  readonly views: DashboardQueries;
  readonly state: SyncStatePort;
  readonly ledger: SpendLedgerPort;
  readonly prompts: SqlitePromptVersions;
  readonly trials: SqliteTrials;
  private readonly checkpoints: BackgroundCheckpoint | undefined;
  private readonly inode: number | undefined;

  constructor(
    readonly file: string,
    options: SqliteStoreOptions = {},
  ) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = openNodeSqlite(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    if (options.backgroundCheckpoints && file !== ':memory:') {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints = new BackgroundCheckpoint(file);
    }
    this.migrate();
    this.inode = file === ':memory:' ? undefined : statSync(file).ino;
    this.log = new SqliteSyncLog(this.db, options.redact ?? ((t) => t), options.instance ?? null);
    this.queue = new SqliteJobStore(this.db, this.log);
    if (options.account) this.queue.setAccount(options.account);
    this.runs = new SqliteBulkStore(this.db, this.queue);
    this.pauses = new SqlitePauseStore(this.db);
    this.views = new DashboardQueries(this.db);
    this.prompts = new SqlitePromptVersions(this.db, options.redact ?? ((t) => t));
    this.trials = new SqliteTrials(this.db, options.redact ?? ((t) => t), options.instance ?? null);
    const queue = this.queue;
    this.state = { get: async (customerId) => queue.customerState(customerId) };
    const log = this.log;
    this.ledger = { since: (iso) => log.spendSince(iso) };
  }

  get location(): string {
    return this.file;
  }

  /**
   * The file this connection writes is still the one at the path: deleted or replaced while running,
   * SQLite would go on writing to a file nobody can open again, and a restart would start empty.
   */
  async check(): Promise<void> {
    this.db.prepare('SELECT 1').get();
    if (this.file === ':memory:') return;
    let now: number | undefined;
    try {
      now = statSync(this.file).ino;
    } catch {
      now = undefined;
    }
    if (now !== this.inode) {
      throw new ConnectorError('STORE_UNAVAILABLE', `The database file ${this.file} was ${now === undefined ? 'deleted' : 'replaced'} while the connector ran: what is written now cannot be read after a restart.`, {
        fix: 'Stop the connector and restore the file from a backup (or start afresh knowing the queue and the sync log are gone); never delete the database of a running connector.',
      });
    }
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  async close(): Promise<void> {
    await this.checkpoints?.stop();
    this.db.close();
  }
}
