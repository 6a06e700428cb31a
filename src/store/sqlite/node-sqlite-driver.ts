/**
 * Node's built-in SQLite (node:sqlite, DatabaseSync): the store's one driver. Nothing is compiled or
 * downloaded at install, and on the queue's and sync log's hot path it measured the same as
 * better-sqlite3 13 (bench/README.md, section 6). It is wrapped in the small, familiar API the store's
 * SQL is written against (prepare/run/get/all, pragma, nested transactions as savepoints), with
 * better-sqlite3's safety where node:sqlite is lax: a named parameter missing from the object is an
 * error, not a silent NULL.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { AnyFunction, ArgumentTypes, SqliteDatabase, SqliteRunResult, SqliteStatement, SqliteTransaction } from './sqlite-database.js';

type Params = unknown[];
type Bindable = Parameters<StatementSync['run']>;

/** An `undefined` value binds as NULL (node:sqlite alone refuses it). */
const undefinedToNull = (params: Params): Params =>
  params.map((p) =>
    p === undefined ? null : typeof p === 'object' && p !== null && !ArrayBuffer.isView(p)
      ? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v === undefined ? null : v]))
      : p,
  );

const hasUndefined = (params: Params) =>
  params.some((p) => p === undefined || (typeof p === 'object' && p !== null && Object.values(p).includes(undefined)));

/** The bare names of a statement's named parameters (`@name`, `:name`, `$name`), outside quotes and comments. */
export function namedParameters(sql: string): string[] {
  const code = sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|\/\*[\s\S]*?\*\//g, ' ');
  return [...new Set([...code.matchAll(/[@:$]([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))];
}

class NodeSqliteStatement implements SqliteStatement {
  private readonly names: string[];

  constructor(
    private readonly s: StatementSync,
    source: string,
    private readonly db: NodeSqliteDatabase,
  ) {
    // Callers pass whole objects (an AttemptRecord, a job) of which a statement binds some keys.
    s.setAllowUnknownNamedParameters(true);
    this.names = namedParameters(source);
  }

  /** node:sqlite binds a missing named parameter as NULL; a typo must fail loudly instead. */
  private checkNames(params: Params): void {
    if (this.names.length === 0) return;
    const obj = params[0];
    if (obj === null || typeof obj !== 'object' || ArrayBuffer.isView(obj)) return;
    for (const n of this.names) {
      if (!(n in obj)) throw new RangeError(`Missing named parameter "${n}" (a bug in the connector's SQL: please report it).`);
    }
  }

  // The conversion is only tried after a refusal, so the common case costs nothing extra.
  private call<R>(fn: (...p: Bindable) => R, params: Params): R {
    this.checkNames(params);
    try {
      return fn.apply(this.s, params as Bindable);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_INVALID_ARG_TYPE' || !hasUndefined(params)) throw this.db.failed(err);
      try {
        return fn.apply(this.s, undefinedToNull(params) as Bindable);
      } catch (again) {
        throw this.db.failed(again);
      }
    }
  }

  run(...params: Params): SqliteRunResult {
    // Numbers, not bigints: statements are never switched to setReadBigInts(true).
    return this.call(this.s.run, params) as SqliteRunResult;
  }

  get(...params: Params): unknown {
    return this.call(this.s.get, params);
  }

  all(...params: Params): unknown[] {
    return this.call(this.s.all, params);
  }
}

// better-sqlite3's savepoint name: one name for every level, so ROLLBACK TO / RELEASE act on the innermost.
const SAVEPOINT = '`\t_bs3.\t`';

export class NodeSqliteDatabase implements SqliteDatabase {
  readonly raw: DatabaseSync;
  private ctl: Record<'begin' | 'immediate' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', StatementSync> | undefined;
  /** Sees every error SQLite throws and returns the one to throw (the store names its file there and notices faults). */
  onError: ((err: unknown) => unknown) | undefined;
  /** Called after each outermost COMMIT, before the transaction's caller gets its result. */
  onCommit: (() => void) | undefined;

  constructor(file: string) {
    this.raw = new DatabaseSync(file);
  }

  /** The error to throw for `err` (see onError). */
  failed(err: unknown): unknown {
    return this.onError ? this.onError(err) : err;
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this.failed(err);
    }
  }

  prepare(source: string): SqliteStatement {
    return new NodeSqliteStatement(this.guard(() => this.raw.prepare(source)), source, this);
  }

  exec(source: string): this {
    this.guard(() => this.raw.exec(source));
    return this;
  }

  /** Like better-sqlite3: every row of `PRAGMA <source>`, or with `simple` the first column of the first row. */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    return this.guard(() => {
      const stmt = this.raw.prepare(`PRAGMA ${source}`);
      if (!options.simple) return stmt.all();
      const row = stmt.get();
      return row ? Object.values(row)[0] : undefined;
    });
  }

  get inTransaction(): boolean {
    return this.raw.isTransaction;
  }

  /** better-sqlite3's semantics: BEGIN/COMMIT at the outside, a SAVEPOINT when nested, ROLLBACK (TO) when `fn` throws. */
  transaction<F extends AnyFunction>(fn: F): SqliteTransaction<F> {
    if (typeof fn !== 'function') throw new TypeError('Expected first argument to be a function');
    const c = (this.ctl ??= {
      begin: this.raw.prepare('BEGIN'),
      immediate: this.raw.prepare('BEGIN IMMEDIATE'),
      commit: this.raw.prepare('COMMIT'),
      rollback: this.raw.prepare('ROLLBACK'),
      savepoint: this.raw.prepare(`SAVEPOINT ${SAVEPOINT}`),
      release: this.raw.prepare(`RELEASE ${SAVEPOINT}`),
      rollbackTo: this.raw.prepare(`ROLLBACK TO ${SAVEPOINT}`),
    });
    const raw = this.raw;
    const db = this;
    const wrap = (begin: StatementSync) =>
      function sqliteTransaction(this: unknown, ...args: ArgumentTypes<F>): ReturnType<F> {
        const nested = raw.isTransaction;
        const before = nested ? c.savepoint : begin;
        const after = nested ? c.release : c.commit;
        const undo = nested ? c.rollbackTo : c.rollback;
        db.guard(() => before.run());
        let result: ReturnType<F>;
        try {
          result = fn.apply(this, args) as ReturnType<F>;
          if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
          after.run();
        } catch (err) {
          // Also when COMMIT itself failed (e.g. busy or a full disk): the transaction is still open and must not stay so.
          try {
            if (raw.isTransaction) {
              undo.run();
              if (undo !== c.rollback) after.run();
            }
          } catch {
            // The rollback failing too (a disk gone) must not hide why the transaction failed.
          }
          throw db.failed(err);
        }
        if (!nested) db.onCommit?.();
        return result;
      };
    return Object.assign(wrap(c.begin), { immediate: wrap(c.immediate) });
  }

  close(): void {
    this.raw.close();
  }
}

export const openNodeSqlite = (file: string): NodeSqliteDatabase => new NodeSqliteDatabase(file);
