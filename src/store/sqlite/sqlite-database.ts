/**
 * The database API the store's SQL code is written against (the shape better-sqlite3 made common),
 * implemented over node:sqlite by node-sqlite-driver.ts.
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
  /** Sees every error SQLite throws and returns the one to throw instead (the store names its file and notices faults). */
  onError: ((err: unknown) => unknown) | undefined;
  /** Called after each outermost COMMIT, before the transaction's caller gets its result. */
  onCommit: (() => void) | undefined;
}
