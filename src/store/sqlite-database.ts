/**
 * The part of better-sqlite3's API the store uses, as a structural type, so a
 * better-sqlite3 Database and the node:sqlite adapter (node-sqlite-driver.ts)
 * both fit wherever the store takes a database.
 */
export interface SqliteRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

// Spelled as in @types/better-sqlite3, so its Database is assignable to SqliteDatabase.
export type AnyFunction = (...params: any[]) => unknown;
export type ArgumentTypes<F extends AnyFunction> = F extends (...args: infer A) => unknown ? A : never;

/** Runs `F` in BEGIN ... COMMIT (a SAVEPOINT when already inside a transaction). */
export interface SqliteTransaction<F extends AnyFunction> {
  (...params: ArgumentTypes<F>): ReturnType<F>;
  /** The same with BEGIN IMMEDIATE: takes the write lock up front. */
  immediate(...params: ArgumentTypes<F>): ReturnType<F>;
}

export interface SqliteDatabase {
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<F extends AnyFunction>(fn: F): SqliteTransaction<F>;
  readonly inTransaction: boolean;
  close(): unknown;
  /**
   * The module a second connection to the same file must use ('node:sqlite'; absent: better-sqlite3).
   * Each driver links its own copy of SQLite, and two copies in one process break each other's POSIX locks.
   */
  readonly driverModule?: 'node:sqlite';
}
