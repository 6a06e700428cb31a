import { existsSync, mkdirSync, statSync } from 'node:fs';
import { ConnectorError } from '../../shared/errors.js';
import path from 'node:path';
import { BackgroundCheckpoint } from './background-checkpoint.js';
import { isStorageFault, sqliteStorageError } from './sqlite-faults.js';
import { readMarker, removeMarker, replacedError, vanishedError, writeMarker } from './work-marker.js';
import { DashboardQueries } from './dashboard-queries.js';
import { MIGRATIONS } from './migrations.js';
import { openNodeSqlite } from './node-sqlite-driver.js';
import { SqliteBulkStore } from './sqlite-bulk-store.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqliteMessages } from './sqlite-messages.js';
import { SqlitePauseStore } from './sqlite-pause-store.js';
import { SqliteSyncLog } from './sqlite-sync-log.js';
import { SqliteRetention } from './sqlite-retention.js';
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
  /** Accept a missing or replaced database although its marker says it held acknowledged work (--fresh). */
  fresh?: boolean;
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
  readonly messages: SqliteMessages;
  readonly retention: SqliteRetention;
  private readonly checkpoints: BackgroundCheckpoint | undefined;
  private readonly inode: number | undefined;
  /** The first fatal fault seen (the disk full, read-only, the file damaged): nothing more can be written. */
  private fault: ConnectorError | undefined;
  private readonly faultListeners = new Set<(fault: ConnectorError) => void>();
  /** The marker beside the file is in place for this database (it has held acknowledged work). */
  private marked = false;
  private readonly id: string | undefined;
  /** Said once at start when --fresh set a vanished or replaced database aside. */
  readonly notice: string | undefined;

  constructor(
    readonly file: string,
    options: SqliteStoreOptions = {},
  ) {
    const memory = file === ':memory:';
    // Before SQLite creates an empty file in its place: a database that held acknowledged work is not silently replaced.
    const marker = memory ? undefined : readMarker(file);
    if (marker && !existsSync(file)) {
      if (!options.fresh) throw vanishedError(file, marker);
      removeMarker(file);
      this.notice = `Started afresh (--fresh): the database ${file} was missing although ${marker.path} said it held acknowledged work; that work is gone, a new database was created.`;
    }
    if (!memory) mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.db = openNodeSqlite(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
      // Group commit nests a savepoint per unit of work; their sub-journal is a temp file once past 64 KiB, and
      // writing it cost ~0.1 ms a record (590k pwrites for 5,000 records). In memory it stays bounded by one group.
      // VACUUM, whose temp copy is the whole database, switches back to files (sqlite-retention.ts).
      this.db.pragma('temp_store = MEMORY');
      this.migrate();
    } catch (err) {
      throw sqliteStorageError(err, file);
    }
    this.id = (this.db.prepare(`SELECT value FROM store_meta WHERE key = 'id'`).get() as { value: string }).value;
    if (marker && existsSync(file) && marker.id !== this.id && !this.notice) {
      if (!options.fresh) {
        this.db.close();
        throw replacedError(file, marker, this.id);
      }
      removeMarker(file);
      this.notice = `Started afresh (--fresh): ${file} is database id ${this.id}, not ${marker.id} that ${marker.path} said held acknowledged work; that work is not in this database.`;
    }
    this.marked = !!marker && marker.id === this.id;
    // From here on every SQLite error names the file, and a fatal one is noticed once.
    this.db.onError = (err) => this.failed(err);
    if (!memory) {
      this.db.onCommit = () => this.markIfWorking();
      try {
        this.markIfWorking();
      } catch (err) {
        this.db.close();
        throw err;
      }
    }
    if (options.backgroundCheckpoints && !memory) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpoints = new BackgroundCheckpoint(file, (err) => this.failed(err));
    }
    this.inode = memory ? undefined : statSync(file).ino;
    this.log = new SqliteSyncLog(this.db, options.redact ?? ((t) => t), options.instance ?? null);
    this.queue = new SqliteJobStore(this.db, this.log);
    // An acknowledgement (a webhook's 200, a run's 202) is only true if the file committed to is still the one at the path.
    if (!memory) this.queue.afterAcknowledgedCommit = () => this.assertFileInPlace();
    if (options.account) this.queue.setAccount(options.account);
    this.runs = new SqliteBulkStore(this.db, this.queue);
    this.pauses = new SqlitePauseStore(this.db);
    this.views = new DashboardQueries(this.db);
    this.prompts = new SqlitePromptVersions(this.db, options.redact ?? ((t) => t));
    this.trials = new SqliteTrials(this.db, options.redact ?? ((t) => t), options.instance ?? null);
    this.messages = new SqliteMessages(this.db, options.redact ?? ((t) => t), options.instance ?? null);
    this.retention = new SqliteRetention(this.db, file, () => this.queue.stateNamespace);
    const queue = this.queue;
    this.state = { get: async (customerId) => queue.customerState(customerId) };
    const log = this.log;
    this.ledger = { since: (iso) => log.spendSince(iso) };
  }

  get location(): string {
    return this.file;
  }

  /**
   * Hears the first fatal fault (at once if there already was one): the store cannot write any more
   * in this process, and serve exits so that a supervisor restarts it.
   */
  onFault(listener: (fault: ConnectorError) => void): void {
    if (this.fault) listener(this.fault);
    else this.faultListeners.add(listener);
  }

  /** What SQLite (or the checkpoint thread, or the marker) threw, as the error to throw; a fatal one is told once. */
  private failed(err: unknown): unknown {
    const e = sqliteStorageError(err, this.file);
    if (isStorageFault(e) && !this.fault) {
      this.fault = e;
      for (const l of this.faultListeners) l(e);
      this.faultListeners.clear();
    }
    return e;
  }

  /** Writes the marker once the database holds work; until then one tiny query per commit. */
  private markIfWorking(): void {
    if (this.marked) return;
    const row = this.db.prepare('SELECT EXISTS (SELECT 1 FROM jobs) OR EXISTS (SELECT 1 FROM sync_attempts) OR EXISTS (SELECT 1 FROM webhook_events) OR EXISTS (SELECT 1 FROM messages) AS w').get() as { w: number };
    if (!row.w) return;
    try {
      writeMarker(this.file, this.id!);
    } catch (err) {
      throw this.failed(err);
    }
    this.marked = true;
  }

  /**
   * The file this connection writes is still the one at the path: deleted or replaced while running,
   * SQLite would go on writing to a file nobody can open again, and a restart would start empty.
   */
  async check(): Promise<void> {
    if (this.fault) throw this.fault;
    this.db.prepare('SELECT 1').get();
    this.assertFileInPlace();
  }

  private assertFileInPlace(): void {
    if (this.file === ':memory:') return;
    let now: number | undefined;
    try {
      now = statSync(this.file).ino;
    } catch {
      now = undefined;
    }
    if (now !== this.inode) {
      throw new ConnectorError('STORE_UNAVAILABLE', `The database file ${this.file} was ${now === undefined ? 'deleted' : 'replaced'} while the connector ran: what is written now cannot be read after a restart.`, {
        fix:
          'Move the file back if it was moved (the connector carries on by itself), or stop the connector and restore the file from a backup; meanwhile webhooks get 503. ' +
          'Started again without it, the connector refuses a database that held acknowledged work unless told --fresh. Never delete the database of a running connector.',
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
    try {
      this.db.close();
    } catch (err) {
      // After a fault closing may fail too (its last checkpoint): what was committed is in the WAL either way.
      if (!this.fault) throw sqliteStorageError(err, this.file);
    }
  }
}
