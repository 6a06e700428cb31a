import { ConnectorError } from '../../shared/errors.js';

/**
 * Which failures of the SQLite file are storage faults, and which of those are fatal.
 *
 * Fatal (STORAGE_FAULT): the disk is full, read-only, failing (I/O error), the file is damaged or
 * cannot be opened. Nothing this process does can make the next write succeed; something outside
 * it has to change first. SQLite rolled the failed transaction back, so what was committed (every
 * acknowledged webhook) is on disk and a restart recovers it; staying up would only refuse every
 * webhook and hold leases on jobs it cannot finish. So serve exits non-zero and a supervisor
 * restarts it (and keeps failing loudly until the disk is fixed).
 *
 * Not fatal (STORE_UNAVAILABLE, retryable): another process holds the write lock for longer than
 * busy_timeout (it passes), and the file deleted or replaced under a running process (handled by
 * SqliteStore.check: the process keeps the deleted file open, the only copy of its contents).
 */
const FATAL_SQLITE = new Set([
  3, // PERM
  8, // READONLY (a file, folder or disk that cannot be written)
  10, // IOERR (read, write, fsync, truncate … failed)
  11, // CORRUPT
  13, // FULL
  14, // CANTOPEN
  23, // AUTH
  26, // NOTADB
]);
const BUSY_SQLITE = new Set([5, 6]); // BUSY, LOCKED
/** SQLITE_READONLY_DBMOVED: the file was renamed or deleted under the connection (SqliteStore.check says so). */
const READONLY_DBMOVED = 1032;
/** File system errors on the database's folder (the marker beside it) that no retry fixes. */
const FATAL_FS = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EIO', 'EACCES', 'EPERM']);

type Raw = Error & { code?: string; errcode?: number; errstr?: string; path?: string };

export const isStorageFault = (err: unknown): err is ConnectorError => err instanceof ConnectorError && err.code === 'STORAGE_FAULT';

/**
 * The error a caller of the SQLite store sees: a storage failure as a ConnectorError that names the
 * file and says what to do (STORAGE_FAULT when fatal, STORE_UNAVAILABLE when it passes); anything
 * else (a constraint, a bug) unchanged.
 */
export function sqliteStorageError(err: unknown, file: string): unknown {
  if (err instanceof ConnectorError || !(err instanceof Error)) return err;
  const e = err as Raw;
  const fatal = (message: string, fix: string) => new ConnectorError('STORAGE_FAULT', message, { fix, cause: err, details: { database: file } });
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') {
    const primary = e.errcode & 0xff;
    const said = `SQLite: ${e.message.replace(/^ERR_SQLITE_ERROR: /, '')}, code ${e.errcode}`;
    if (BUSY_SQLITE.has(primary)) {
      return new ConnectorError('STORE_UNAVAILABLE', `The database ${file} stayed locked by another connection for the whole busy timeout (${said}).`, {
        retryable: true,
        cause: err,
        fix: 'Usually it passes (a long `sync --all` page, a backup); iPaaS.com delivers refused webhooks again. If it lasts, find the process that holds the file (`fuser` on it) and stop it.',
      });
    }
    if (e.errcode === READONLY_DBMOVED) {
      return new ConnectorError('STORE_UNAVAILABLE', `The database file ${file} was moved or deleted while the connector ran (${said}).`, {
        retryable: true,
        cause: err,
        fix: 'Put the file back where it was; never move or delete the database of a running connector.',
      });
    }
    if (!FATAL_SQLITE.has(primary)) return err;
    switch (primary) {
      case 13:
        return fatal(`The disk holding the database ${file} is full (${said}).`, 'Free space on that disk, then start the connector again (a supervisor such as systemd restarts it by itself); what was acknowledged is in the database and is not lost.');
      case 10:
        return fatal(`Reading or writing the database ${file} failed at the disk (${said}).`, 'Check the disk and its mount (`dmesg`, free space, a network share that went away), then start the connector again: SQLite recovers what was committed. If it keeps failing, restore the database from a backup.');
      case 11:
      case 26:
        return fatal(`The database ${file} is damaged or is not a SQLite database (${said}).`, 'Restore it from a backup. Or move it aside and start afresh with --fresh (e.g. `ipaas-openai serve --fresh`), knowing its queue and sync log are gone.');
      case 14:
        return fatal(`The database ${file} (or its -wal / -shm file beside it) cannot be opened (${said}).`, 'Check that its folder exists and is writable by this user, or point IPAAS_OPENAI_DB (store.path) at one that is; then start again.');
      default:
        return fatal(`The database ${file} cannot be written (${said}): the file, its -wal / -shm files, their folder or the disk is read-only or not this user's.`, 'Make them writable for this user (a disk the system remounted read-only after errors needs checking first), or point IPAAS_OPENAI_DB (store.path) at a writable folder; then start again.');
    }
  }
  if (e.code && FATAL_FS.has(e.code)) {
    const what = e.path ?? `the folder of ${file}`;
    return e.code === 'ENOSPC' || e.code === 'EDQUOT'
      ? fatal(`The disk holding the database ${file} is full (${e.code} writing ${what}).`, 'Free space on that disk, then start the connector again; what was acknowledged is in the database and is not lost.')
      : fatal(`${what}, beside the database ${file}, cannot be written (${e.code}: ${e.message}).`, 'Make the database folder writable for this user (a disk remounted read-only after errors needs checking first), or point IPAAS_OPENAI_DB (store.path) elsewhere; then start again.');
  }
  return err;
}
