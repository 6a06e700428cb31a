/**
 * Node's built-in SQLite (node:sqlite, DatabaseSync) behind the subset of
 * better-sqlite3's API the store uses, so the store can run on either and the
 * two can be measured against each other (bench/run.ts, section `sqlite`).
 * The product itself stays on better-sqlite3.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { AnyFunction, ArgumentTypes, SqliteDatabase, SqliteRunResult, SqliteStatement, SqliteTransaction } from './sqlite-database.js';

type Params = unknown[];
type Bindable = Parameters<StatementSync['run']>;

/** better-sqlite3 binds `undefined` as NULL; node:sqlite refuses it. */
const undefinedToNull = (params: Params): Params =>
  params.map((p) =>
    p === undefined ? null : typeof p === 'object' && p !== null && !ArrayBuffer.isView(p)
      ? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v === undefined ? null : v]))
      : p,
  );

const hasUndefined = (params: Params) =>
  params.some((p) => p === undefined || (typeof p === 'object' && p !== null && Object.values(p).includes(undefined)));

class NodeSqliteStatement implements SqliteStatement {
  constructor(private readonly s: StatementSync) {
    // Callers pass whole objects (an AttemptRecord, a job) of which a statement binds some keys, as better-sqlite3 allows.
    s.setAllowUnknownNamedParameters(true);
  }

  // The conversion is only tried after a refusal, so the common case costs nothing extra.
  private call<R>(fn: (...p: Bindable) => R, params: Params): R {
    try {
      return fn.apply(this.s, params as Bindable);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_INVALID_ARG_TYPE' || !hasUndefined(params)) throw err;
      return fn.apply(this.s, undefinedToNull(params) as Bindable);
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
  readonly driverModule = 'node:sqlite' as const;
  readonly raw: DatabaseSync;
  private ctl: Record<'begin' | 'immediate' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', StatementSync> | undefined;

  constructor(file: string) {
    this.raw = new DatabaseSync(file);
  }

  prepare(source: string): SqliteStatement {
    return new NodeSqliteStatement(this.raw.prepare(source));
  }

  exec(source: string): this {
    this.raw.exec(source);
    return this;
  }

  /** Like better-sqlite3: every row of `PRAGMA <source>`, or with `simple` the first column of the first row. */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const stmt = this.raw.prepare(`PRAGMA ${source}`);
    if (!options.simple) return stmt.all();
    const row = stmt.get();
    return row ? Object.values(row)[0] : undefined;
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
    const wrap = (begin: StatementSync) =>
      function sqliteTransaction(this: unknown, ...args: ArgumentTypes<F>): ReturnType<F> {
        const nested = raw.isTransaction;
        const before = nested ? c.savepoint : begin;
        const after = nested ? c.release : c.commit;
        const undo = nested ? c.rollbackTo : c.rollback;
        before.run();
        try {
          const result = fn.apply(this, args) as ReturnType<F>;
          if (result && typeof (result as { then?: unknown }).then === 'function') throw new TypeError('Transaction function cannot return a promise');
          after.run();
          return result;
        } catch (err) {
          // Also when COMMIT itself failed (e.g. busy): the transaction is still open and must not stay so.
          if (raw.isTransaction) {
            undo.run();
            if (undo !== c.rollback) after.run();
          }
          throw err;
        }
      };
    return Object.assign(wrap(c.begin), { immediate: wrap(c.immediate) });
  }

  close(): void {
    this.raw.close();
  }
}

/** For SqliteStore's `open` option. */
export const openNodeSqlite = (file: string): NodeSqliteDatabase => new NodeSqliteDatabase(file);
