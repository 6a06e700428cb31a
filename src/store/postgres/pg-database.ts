import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConnectorError } from '../../shared/errors.js';

export type Row = Record<string, unknown>;

/** Anything that runs a query: the pool (one statement, autocommit) or a client inside a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult>;
}

/**
 * The database clock in epoch milliseconds. When a method is given no `now`, this is the time it
 * uses, so several hosts order leases, retries and holds by one clock instead of each by its own.
 */
export const DB_NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** Advisory lock keys (the single-bigint key space; per-key locks use the two-int4 space, which does not overlap). */
export const LOCK = {
  /** Held by every claim transaction: claims run one at a time across instances. */
  claim: 0x69706161_0001n,
  /** Held while the schema is migrated (instances starting together migrate once). */
  migrate: 0x69706161_0002n,
} as const;

/** Namespaces of per-key advisory locks (`pg_advisory_xact_lock(namespace, hashtext(key))`). */
export const KEY_LOCK = {
  /** A customer (or reference) jobs coalesce on: enqueue, intake and retryRecords of one customer serialise. */
  customer: 0x6970_0001,
  /** A webhook event key. */
  event: 0x6970_0002,
} as const;

/** int8 (counts, ids, epoch ms) and numeric (sums of bigints) as JS numbers, for this pool only. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20 || oid === 1700) return (v: string | null) => (v === null ? null : Number(v));
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A statement with parameters runs as a named prepared statement: each connection parses and plans it
 * once, not at every call (planning the claim cost more than running it). The name is the text's
 * hash, so one text is one statement; the texts are the code's own (values are always parameters),
 * so their number is bounded.
 */
const names = new Map<string, string>();
function prepared(on: pg.Pool | pg.PoolClient, text: string, values: unknown[] | undefined): Promise<pg.QueryResult> {
  if (values === undefined) return on.query(text);
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `q${createHash('sha1').update(text).digest('hex').slice(0, 20)}`));
  return on.query({ name, text, values });
}

/** The URL for people: any password replaced by `***`. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

export const STORE_DOWN_FIX = 'Start the database or restore the network to it, and check the URL in IPAAS_OPENAI_DB (or store.url); the connector carries on by itself once it answers.';

/** Socket errors on the way to the server. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * The server cannot be reached or cannot work now: connection errors (class 08), shutting down or
 * starting (57P), out of resources such as its own disk (53). All pass without anything this
 * process could do, and the other instances see the same: never fatal, only "not now" (503).
 */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return NETWORK.has(code) || /^(08|57P|53)/.test(code);
  return /connection terminated|connection error|not queryable|timeout exceeded when trying to connect/i.test(err.message);
}

/** Deadlocks and serialisation failures are retried: the transaction body is re-run from the start. */
const RETRYABLE = new Set(['40P01', '40001']);

export class PgDatabase implements Queryable {
  readonly pool: pg.Pool;
  /** The URL without its password, named in errors. */
  readonly location: string;

  constructor(url: string, options: { applicationName?: string; max?: number } = {}) {
    this.location = describeUrl(url);
    this.pool = new pg.Pool({ connectionString: url, types, max: options.max ?? 10, application_name: options.applicationName ?? 'ipaas-openai' });
    // An idle client whose connection dropped (server restart, network) is discarded by the pool; without
    // a listener the 'error' event would end the process. The next query gets a fresh connection.
    this.pool.on('error', () => {});
    // The pool takes its listener off a client it hands out, and tx() puts its own on only after the
    // await: a server that ends the connection in that gap (a shutdown's FATAL read in the same chunk
    // as the connection's ready message, as CI saw) would crash the process. Every client keeps this
    // one for its life; the failure still reaches the caller through the query that fails next.
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** An outage as STORE_UNAVAILABLE naming the server (503 and a Retry-After at the HTTP edge); other errors as they are. */
  private unavailable = (err: unknown): never => {
    if (!isUnavailable(err)) throw err;
    throw new ConnectorError('STORE_UNAVAILABLE', `PostgreSQL at ${this.location} does not answer: ${(err as Error).message}.`, { retryable: true, cause: err, fix: STORE_DOWN_FIX });
  };

  query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return prepared(this.pool, text, values).catch(this.unavailable);
  }

  /** `now`, or the database clock when it is undefined. */
  async clock(now: number | undefined, db: Queryable = this): Promise<number> {
    if (now !== undefined) return now;
    return (await db.query(`SELECT ${DB_NOW_MS} AS now`)).rows[0].now as number;
  }

  /**
   * Runs `fn` in one transaction (READ COMMITTED). `lock` is taken first, then the clock is read, in
   * the same round trip as BEGIN: transactions serialised by the lock also see time move forward.
   */
  async tx<T>(fn: (c: Queryable, now: number) => Promise<T>, options: { now?: number | undefined; lock?: bigint } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect().catch(this.unavailable);
      let broken: Error | undefined;
      // A checked-out client has no pool listener: a server going away would be an unhandled 'error' event.
      const onError = (e: Error) => (broken ??= e);
      client.on('error', onError);
      try {
        const head = ['BEGIN'];
        if (options.lock !== undefined) head.push(`SELECT pg_advisory_xact_lock(${options.lock.toString()})`);
        head.push(`SELECT ${options.now === undefined ? DB_NOW_MS : `${Math.trunc(options.now)}::bigint`} AS now`);
        const results = (await client.query(head.join('; '))) as unknown as pg.QueryResult[];
        const now = results[results.length - 1]!.rows[0].now as number;
        try {
          const out = await fn({ query: (text, values) => prepared(client, text, values) }, now);
          await client.query('COMMIT');
          return out;
        } catch (err) {
          await client.query('ROLLBACK').catch((e: Error) => (broken = e));
          throw err;
        }
      } catch (err) {
        const code = (err as { code?: string }).code;
        // No SQLSTATE: the connection itself failed; the client is not given back to the pool.
        if (!code || code.startsWith('57P') || code.startsWith('08')) broken ??= err as Error;
        if (code && RETRYABLE.has(code) && attempt < 4 && !broken) continue;
        this.unavailable(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Takes per-key advisory locks for the rest of the transaction, all in one statement and in one
 * global order (namespace, hash), so two transactions locking overlapping keys never deadlock.
 */
export async function lockKeys(c: Queryable, keys: Array<{ ns: number; key: string }>): Promise<void> {
  if (keys.length === 0) return;
  await c.query(
    `SELECT pg_advisory_xact_lock(ns, h) FROM (SELECT DISTINCT ns, hashtext(k) AS h FROM unnest($1::int4[], $2::text[]) AS t(ns, k) ORDER BY ns, h) s`,
    [keys.map((k) => k.ns), keys.map((k) => k.key)],
  );
}
