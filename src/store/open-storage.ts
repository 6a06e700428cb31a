import type { ConnectorConfig } from '../config/schema.js';
import type { Storage } from './ports.js';
import { SqliteStore } from './sqlite/sqlite-store.js';

export interface OpenStorageOptions {
  redact?: (text: string) => string;
  /** The iPaaS.com account (base URL) the customer sync state belongs to. */
  account?: string;
  /** This process's name among several instances (recorded on what it does). */
  instance?: string;
  /** SQLite: checkpoint the WAL off the committing thread (long-running processes). */
  backgroundCheckpoints?: boolean;
  /** SQLite: open although the marker says a database that held acknowledged work vanished (--fresh). */
  fresh?: boolean;
}

/** The configured store: PostgreSQL for a `postgres://` URL, else the embedded SQLite file. */
export async function openStorage(store: ConnectorConfig['store'], options: OpenStorageOptions = {}): Promise<Storage> {
  if (store.url) {
    const { openPostgresStorage } = await import('./postgres/index.js');
    return openPostgresStorage(store.url, options);
  }
  return new SqliteStore(store.path, options);
}
