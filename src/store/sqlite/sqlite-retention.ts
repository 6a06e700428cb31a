import { statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { TERMINAL_STATES } from '../../queue/job-states.js';
import { ConnectorError } from '../../shared/errors.js';
import { ERASED_REF, inFlight, NO_TRACES, templateKeys, type BodyCounts, type CustomerTraces, type PurgeOptions, type RetentionPort } from '../retention-port.js';
import type { SqliteDatabase } from './sqlite-database.js';

type Row = Record<string, unknown>;
type Range = { lo: number | null; hi: number | null };

const BODIES = '(request_json IS NOT NULL OR response_json IS NOT NULL OR answer_json IS NOT NULL OR writes_json IS NOT NULL OR error_message IS NOT NULL)';
const BLANK = 'request_json = NULL, response_json = NULL, answer_json = NULL, writes_json = NULL, error_message = NULL';
const FINISHED_JOB = `state IN (${TERMINAL_STATES.map((s) => `'${s}'`).join(', ')})`;
const JOB_BODIES = '(answer_json IS NOT NULL OR last_error IS NOT NULL)';

// Who a row is about: the CustomerNumber @cn, or one of the iPaaS.com ids in @ids (a JSON array).
const IDS = 'SELECT value FROM json_each(@ids)';
const ATTEMPT_WHO = `(customer_number = @cn OR requested_ref = @cn OR customer_id IN (${IDS}) OR requested_ref IN (SELECT 'id ' || value FROM json_each(@ids)))`;
const RECORD_WHO = `(customer_number = @cn OR record_key IN (@cn, 'ref:' || @cn) OR customer_id IN (${IDS})
  OR record_key IN (SELECT 'id:' || value FROM json_each(@ids)) OR record_key IN (SELECT 'ref:id ' || value FROM json_each(@ids)))`;
const JOB_WHO = `((ref_kind = 'number' AND ref = @cn) OR (ref_kind = 'id' AND ref IN (${IDS})) OR customer_id IN (${IDS}))`;
// The sync state is kept per iPaaS.com account (@ns, the queue's namespace); ids of other accounts are other customers.
const STATE_WHO = `(customer_number = @cn OR customer_id IN (SELECT @ns || value FROM json_each(@ids)))`;
const EVENT_WHO = `customer_id IN (${IDS})`;

const KNOWN_IDS = `SELECT customer_id AS id FROM sync_attempts WHERE (customer_number = @cn OR requested_ref = @cn) AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM trial_attempts WHERE (customer_number = @cn OR requested_ref = @cn) AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM records WHERE customer_number = @cn AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM jobs WHERE ref_kind = 'number' AND ref = @cn AND customer_id IS NOT NULL
  UNION SELECT substr(customer_id, length(@ns) + 1) FROM customer_state WHERE customer_number = @cn AND substr(customer_id, 1, length(@ns)) = @ns`;

/** A template is still needed while any attempt outside the erased ones refers to it. */
const TEMPLATE_USED_ELSEWHERE = `SELECT 1 FROM sync_attempts WHERE ${ATTEMPT_WHO} IS NOT 1 AND (instr(request_json, @marker) > 0 OR instr(response_json, @marker) > 0) LIMIT 1`;

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/**
 * Retention and erasure in the SQLite file. Deletions run with `secure_delete` on, so SQLite zeroes
 * the freed bytes in the pages it writes; scrubFreedSpace then rewrites the file (VACUUM) and
 * truncates the WAL, so no older copy of a page survives in the -wal file either.
 */
export class SqliteRetention implements RetentionPort {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly file: string,
    /** The queue's sync-state namespace (the iPaaS.com account). */
    private readonly stateNamespace: () => string,
  ) {}

  async countBodies(before: string): Promise<BodyCounts> {
    const count = (sql: string, params: Row) => Number((this.db.prepare(sql).get(params) as { n: number }).n);
    return {
      attempts: count(`SELECT count(*) AS n FROM sync_attempts WHERE started_at < @before AND finished_at < @before AND ${BODIES}`, { before }),
      trials: count(`SELECT count(*) AS n FROM trial_attempts WHERE started_at < @before AND finished_at < @before AND ${BODIES}`, { before }),
      jobs: count(`SELECT count(*) AS n FROM jobs WHERE ${FINISHED_JOB} AND updated_at < @ms AND ${JOB_BODIES}`, { ms: Date.parse(before) }),
    };
  }

  async purgeBodies(before: string, options: PurgeOptions = {}): Promise<BodyCounts> {
    const batch = Math.max(1, options.batchSize ?? 500);
    const { signal } = options;
    const ms = Date.parse(before);
    return this.securely(async () => {
      const attempts = await this.inWindows('sync_attempts', BLANK, `finished_at < @before AND ${BODIES}`, this.startedBefore('sync_attempts', before), { before }, batch, signal);
      const trials = await this.inWindows('trial_attempts', BLANK, `finished_at < @before AND ${BODIES}`, this.startedBefore('trial_attempts', before), { before }, batch, signal);
      const jobs = await this.inWindows('jobs', 'answer_json = NULL, last_error = NULL', `${FINISHED_JOB} AND updated_at < @ms AND ${JOB_BODIES}`, this.all('jobs'), { ms }, batch, signal);
      // A record's latest error is the same text as its attempt's: it goes with it.
      await this.inWindows('records', 'last_error = NULL', 'updated_at < @before AND last_error IS NOT NULL', this.all('records'), { before }, batch, signal);
      return { attempts, trials, jobs };
    });
  }

  /** The rowids of a table, first and last (each one B-tree step). */
  private all(table: string): Range {
    const edge = (dir: string) => (this.db.prepare(`SELECT rowid AS id FROM ${table} ORDER BY rowid ${dir} LIMIT 1`).get() as { id: number } | undefined)?.id ?? null;
    return { lo: edge('ASC'), hi: edge('DESC') };
  }

  /**
   * The rowids that can hold attempts started before `before`: from the first row to the last one
   * started in the day before it (rows are written as attempts finish, and none runs for a day), which
   * reads one day of the started_at index instead of all of it; the whole index only when that day is empty.
   */
  private startedBefore(table: string, before: string): Range {
    const floor = new Date(Date.parse(before) - 24 * 60 * 60 * 1000).toISOString();
    const last = (this.db.prepare(`SELECT max(rowid) AS hi FROM ${table} WHERE started_at >= @floor AND started_at < @before`).get({ floor, before }) as { hi: number | null }).hi
      ?? (this.db.prepare(`SELECT max(rowid) AS hi FROM ${table} WHERE started_at < @before`).get({ before }) as { hi: number | null }).hi;
    return { lo: this.all(table).lo, hi: last };
  }

  /**
   * `SET set WHERE where` on `table`, one window of `batch` rowids of `range` at a time, each window its
   * own short write transaction with the event loop free in between. A window with nothing to change
   * is only read: the write lock is taken where there is work.
   */
  private async inWindows(table: string, set: string, where: string, { lo, hi }: Range, params: Row, batch: number, signal: AbortSignal | undefined): Promise<number> {
    if (lo === null || hi === null) return 0;
    const window = 'rowid > @from AND rowid <= @to';
    const probe = this.db.prepare(`SELECT 1 FROM ${table} WHERE ${window} AND ${where} LIMIT 1`);
    const update = this.db.prepare(`UPDATE ${table} SET ${set} WHERE ${window} AND ${where}`);
    const step = this.db.transaction((p: Row) => update.run(p).changes);
    let changed = 0;
    for (let from = lo - 1; from < hi && !signal?.aborted; from += batch) {
      const p = { ...params, from, to: from + batch };
      if (probe.get(p)) changed += step.immediate(p);
      await nextTurn();
    }
    return changed;
  }

  private params(customerNumber: string, ids: string[], extra: Row = {}): Row {
    return { cn: customerNumber, ids: JSON.stringify(ids), ns: this.stateNamespace(), ...extra };
  }

  private knownIds(customerNumber: string): string[] {
    const rows = this.db.prepare(KNOWN_IDS).all({ cn: customerNumber, ns: this.stateNamespace() }) as Array<{ id: string }>;
    return [...new Set(rows.map((r) => String(r.id)))].sort();
  }

  /** Templates this customer's attempts refer to that no other attempt needs. */
  private ownTemplates(p: Row): string[] {
    const docs = this.db.prepare(`SELECT request_json, response_json FROM sync_attempts WHERE ${ATTEMPT_WHO} AND (request_json IS NOT NULL OR response_json IS NOT NULL)`).all(p) as Row[];
    const keys = templateKeys(...docs.flatMap((d) => [d.request_json as string | null, d.response_json as string | null]));
    const usedElsewhere = this.db.prepare(TEMPLATE_USED_ELSEWHERE);
    return keys.filter((key) => !usedElsewhere.get({ ...p, marker: `$template:${key}` }));
  }

  async findCustomer(customerNumber: string): Promise<CustomerTraces> {
    const ids = this.knownIds(customerNumber);
    const p = this.params(customerNumber, ids);
    const count = (sql: string) => Number((this.db.prepare(sql).get(p) as { n: number }).n);
    return {
      customerNumber,
      customerIds: ids,
      attempts: count(`SELECT count(*) AS n FROM sync_attempts WHERE ${ATTEMPT_WHO}`),
      records: count(`SELECT count(*) AS n FROM records WHERE ${RECORD_WHO}`),
      jobs: count(`SELECT count(*) AS n FROM jobs WHERE ${JOB_WHO}`),
      syncState: count(`SELECT count(*) AS n FROM customer_state WHERE ${STATE_WHO}`),
      trials: count(`SELECT count(*) AS n FROM trial_attempts WHERE ${ATTEMPT_WHO}`),
      webhookEvents: count(`SELECT count(*) AS n FROM webhook_events WHERE ${EVENT_WHO}`),
      templates: this.ownTemplates(p).length,
    };
  }

  async eraseCustomer(customerNumber: string, now = Date.now()): Promise<CustomerTraces> {
    return this.securely(async () =>
      this.db.transaction(() => {
        const ids = this.knownIds(customerNumber);
        const p = this.params(customerNumber, ids, { now, erased: ERASED_REF });
        const busy = this.db.prepare(`SELECT id, state, lease_owner FROM jobs WHERE ${JOB_WHO} AND (state = 'batched' OR (state IN ('calling','answered') AND lease_until > @now)) LIMIT 1`).get(p) as Row | undefined;
        if (busy) throw inFlight(customerNumber, busy);
        const templates = this.ownTemplates(p);
        const run = (sql: string) => this.db.prepare(sql).run(p).changes;
        const out: CustomerTraces = {
          ...NO_TRACES(customerNumber),
          customerIds: ids,
          // The ledger keeps the row (its tokens and cost count in spend caps and usage); who and what go.
          attempts: run(`UPDATE sync_attempts SET customer_id = NULL, customer_number = NULL, requested_ref = @erased, ${BLANK},
              error_fix = NULL, response_id = NULL, request_id = NULL, flags = NULL, job_id = NULL WHERE ${ATTEMPT_WHO}`),
          trials: run(`UPDATE trial_attempts SET customer_id = NULL, customer_number = NULL, requested_ref = @erased, ${BLANK}, response_id = NULL WHERE ${ATTEMPT_WHO}`),
          records: run(`DELETE FROM records WHERE ${RECORD_WHO}`),
          jobs: run(`DELETE FROM jobs WHERE ${JOB_WHO}`),
          syncState: run(`DELETE FROM customer_state WHERE ${STATE_WHO}`),
          webhookEvents: run(`DELETE FROM webhook_events WHERE ${EVENT_WHO}`),
        };
        const drop = this.db.prepare('DELETE FROM request_templates WHERE key = ?');
        out.templates = templates.reduce((n, key) => n + drop.run(key).changes, 0);
        return out;
      }).immediate(),
    );
  }

  async scrubFreedSpace(): Promise<string[]> {
    if (this.file === ':memory:') return ['in memory: nothing on disk to scrub'];
    const before = sizeOf(this.file) + sizeOf(`${this.file}-wal`);
    await this.truncateWal();
    // Every page is rewritten from the live rows, so nothing freed survives in the file; VACUUM goes
    // through the WAL, which the second checkpoint copies over the file and truncates to 0 bytes.
    // VACUUM copies the whole database into a temp database first: on disk, not in this process's memory.
    const tempStore = this.db.pragma('temp_store', { simple: true }) as number;
    this.db.pragma('temp_store = FILE');
    try {
      this.db.exec('VACUUM');
    } catch (err) {
      if (!(err instanceof ConnectorError && err.code === 'STORE_UNAVAILABLE')) throw err;
      throw new ConnectorError('STORE_UNAVAILABLE', `VACUUM of ${this.file} found the database locked by another connection (a running serve?) for the whole busy timeout, so the space the erased rows held is not rewritten yet.`, {
        retryable: true,
        cause: err,
        fix: 'Run `ipaas-openai purge --yes` again when the connector is quiet (or with serve stopped): it repeats this step.',
      });
    } finally {
      this.db.pragma(`temp_store = ${tempStore}`);
    }
    await this.truncateWal();
    return [
      `SQLite: VACUUM rebuilt ${this.file} from its live rows (with its WAL ${mb(before)} before, ${mb(sizeOf(this.file))} now)`,
      `SQLite: WAL checkpointed and truncated to ${sizeOf(`${this.file}-wal`)} bytes; freed bytes were zeroed as they were deleted (secure_delete)`,
    ];
  }

  /** A TRUNCATE checkpoint, tried again while another connection (a running serve) holds the WAL. */
  private async truncateWal(): Promise<void> {
    for (let tryNo = 1; ; tryNo++) {
      const r = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      if (r[0] && r[0].busy === 0) return;
      if (tryNo >= 3) {
        throw new ConnectorError('STORE_UNAVAILABLE', `The WAL of ${this.file} could not be checkpointed and truncated: another connection kept the database busy, so older copies of erased rows may remain in ${this.file}-wal.`, {
          retryable: true,
          fix: 'Run `ipaas-openai purge --yes` again when the connector is quiet (or with serve stopped): it repeats this step.',
        });
      }
      await new Promise((r) => setTimeout(r, 500 * tryNo));
    }
  }

  /** SQLite zeroes what it frees while this runs (the connection's setting is put back afterwards). */
  private async securely<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.db.pragma('secure_delete', { simple: true }) as number;
    this.db.pragma('secure_delete = ON');
    try {
      return await work();
    } finally {
      this.db.pragma(`secure_delete = ${previous ? 'ON' : 'OFF'}`);
    }
  }
}
