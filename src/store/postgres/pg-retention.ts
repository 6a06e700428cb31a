import { setImmediate as nextTurn } from 'node:timers/promises';
import { TERMINAL_STATES } from '../../queue/job-states.js';
import { ERASED_REF, inFlight, NO_TRACES, templateKeys, type BodyCounts, type CustomerTraces, type PurgeOptions, type RetentionPort } from '../retention-port.js';
import { KEY_LOCK, lockKeys, type PgDatabase, type Queryable, type Row } from './pg-database.js';

const BODIES = '(request_json IS NOT NULL OR response_json IS NOT NULL OR answer_json IS NOT NULL OR writes_json IS NOT NULL OR error_message IS NOT NULL)';
const BLANK = 'request_json = NULL, response_json = NULL, answer_json = NULL, writes_json = NULL, error_message = NULL';
const FINISHED_JOB = `state IN (${TERMINAL_STATES.map((s) => `'${s}'`).join(', ')})`;
const JOB_BODIES = '(answer_json IS NOT NULL OR last_error IS NOT NULL)';

// Who a row is about: the CustomerNumber $1, or one of the iPaaS.com ids in $2; $3 is the sync state's namespace (the account).
const ATTEMPT_WHO = `(customer_number = $1 OR requested_ref = $1 OR customer_id = ANY($2::text[]) OR requested_ref = ANY(SELECT 'id ' || x FROM unnest($2::text[]) x))`;
const RECORD_WHO = `(customer_number = $1 OR record_key IN ($1, 'ref:' || $1) OR customer_id = ANY($2::text[])
  OR record_key = ANY(SELECT 'id:' || x FROM unnest($2::text[]) x) OR record_key = ANY(SELECT 'ref:id ' || x FROM unnest($2::text[]) x))`;
const JOB_WHO = `((ref_kind = 'number' AND ref = $1) OR (ref_kind = 'id' AND ref = ANY($2::text[])) OR customer_id = ANY($2::text[]))`;
const STATE_WHO = `(customer_number = $1 OR customer_id = ANY(SELECT $3 || x FROM unnest($2::text[]) x))`;
// Every statement binds exactly the parameters it names, so $1 appears here although only the ids matter.
const EVENT_WHO = `(customer_id = ANY($2::text[]) AND $1::text IS NOT NULL)`;

const KNOWN_IDS = `SELECT customer_id AS id FROM sync_attempts WHERE (customer_number = $1 OR requested_ref = $1) AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM trial_attempts WHERE (customer_number = $1 OR requested_ref = $1) AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM records WHERE customer_number = $1 AND customer_id IS NOT NULL
  UNION SELECT customer_id FROM jobs WHERE ref_kind = 'number' AND ref = $1 AND customer_id IS NOT NULL
  UNION SELECT substr(customer_id, length($2) + 1) FROM customer_state WHERE customer_number = $1 AND starts_with(customer_id, $2)`;

const TEMPLATE_USED_ELSEWHERE = `SELECT 1 FROM sync_attempts WHERE ${ATTEMPT_WHO} IS NOT TRUE AND (strpos(request_json, $3) > 0 OR strpos(response_json, $3) > 0) LIMIT 1`;

/** The tables erasures touch: VACUUM makes their dead rows' space reusable. */
const ERASED_TABLES = ['sync_attempts', 'trial_attempts', 'records', 'jobs', 'customer_state', 'webhook_events', 'request_templates'];

/**
 * Retention and erasure in PostgreSQL, shared by every instance: each may run the daily purge (the
 * statements are idempotent and short, so instances running it at once only repeat each other's work).
 */
export class PgRetention implements RetentionPort {
  constructor(
    private readonly db: PgDatabase,
    private readonly stateNamespace: () => string,
  ) {}

  async countBodies(before: string): Promise<BodyCounts> {
    const count = async (sql: string, values: unknown[]) => Number((await this.db.query(sql, values)).rows[0].n);
    return {
      attempts: await count(`SELECT count(*) AS n FROM sync_attempts WHERE started_at < $1 AND finished_at < $1 AND ${BODIES}`, [before]),
      trials: await count(`SELECT count(*) AS n FROM trial_attempts WHERE started_at < $1 AND finished_at < $1 AND ${BODIES}`, [before]),
      jobs: await count(`SELECT count(*) AS n FROM jobs WHERE ${FINISHED_JOB} AND updated_at < $1 AND ${JOB_BODIES}`, [Date.parse(before)]),
    };
  }

  async purgeBodies(before: string, options: PurgeOptions = {}): Promise<BodyCounts> {
    const batch = Math.max(1, options.batchSize ?? 500);
    const { signal } = options;
    const attempts = await this.inWindows(
      await this.range('SELECT min(id) AS lo, max(id) AS hi FROM sync_attempts WHERE started_at < $1', [before]),
      `UPDATE sync_attempts SET ${BLANK} WHERE id > $2 AND id <= $3 AND finished_at < $1 AND ${BODIES}`,
      before, batch, signal,
    );
    const trials = await this.inWindows(
      await this.range('SELECT min(id) AS lo, max(id) AS hi FROM trial_attempts WHERE started_at < $1', [before]),
      `UPDATE trial_attempts SET ${BLANK} WHERE id > $2 AND id <= $3 AND finished_at < $1 AND ${BODIES}`,
      before, batch, signal,
    );
    const jobs = await this.inWindows(
      await this.range('SELECT min(id) AS lo, max(id) AS hi FROM jobs'),
      `UPDATE jobs SET answer_json = NULL, last_error = NULL WHERE id > $2 AND id <= $3 AND ${FINISHED_JOB} AND updated_at < $1 AND ${JOB_BODIES}`,
      Date.parse(before), batch, signal,
    );
    // A record's latest error is the same text as its attempt's: it goes with it (records are one row per customer).
    while (!signal?.aborted) {
      const n = (await this.db.query(`UPDATE records SET last_error = NULL WHERE record_key IN (SELECT record_key FROM records WHERE updated_at < $1 AND last_error IS NOT NULL LIMIT $2)`, [before, batch])).rowCount ?? 0;
      if (n < batch) break;
      await nextTurn();
    }
    return { attempts, trials, jobs };
  }

  private async range(sql: string, values?: unknown[]): Promise<{ lo: number | null; hi: number | null }> {
    return (await this.db.query(sql, values)).rows[0] as { lo: number | null; hi: number | null };
  }

  /** One short statement (its own transaction) per window of `batch` ids. */
  private async inWindows({ lo, hi }: { lo: number | null; hi: number | null }, updateSql: string, bound: string | number, batch: number, signal: AbortSignal | undefined): Promise<number> {
    if (lo === null || hi === null) return 0;
    let changed = 0;
    for (let from = lo - 1; from < hi && !signal?.aborted; from += batch) {
      changed += (await this.db.query(updateSql, [bound, from, from + batch])).rowCount ?? 0;
      await nextTurn();
    }
    return changed;
  }

  private async knownIds(c: Queryable, customerNumber: string): Promise<string[]> {
    const rows = (await c.query(KNOWN_IDS, [customerNumber, this.stateNamespace()])).rows as Row[];
    return [...new Set(rows.map((r) => String(r.id)))].sort();
  }

  /** Templates this customer's attempts refer to that no other attempt needs. */
  private async ownTemplates(c: Queryable, p: unknown[]): Promise<string[]> {
    const docs = (await c.query(`SELECT request_json, response_json FROM sync_attempts WHERE ${ATTEMPT_WHO} AND (request_json IS NOT NULL OR response_json IS NOT NULL)`, p.slice(0, 2))).rows as Row[];
    const keys = templateKeys(...docs.flatMap((d) => [d.request_json as string | null, d.response_json as string | null]));
    const own: string[] = [];
    for (const key of keys) if ((await c.query(TEMPLATE_USED_ELSEWHERE, [...p.slice(0, 2), `$template:${key}`])).rowCount === 0) own.push(key);
    return own;
  }

  async findCustomer(customerNumber: string): Promise<CustomerTraces> {
    const ids = await this.knownIds(this.db, customerNumber);
    const p = [customerNumber, ids, this.stateNamespace()];
    const count = async (table: string, who: string, uses: number) => Number((await this.db.query(`SELECT count(*) AS n FROM ${table} WHERE ${who}`, p.slice(0, uses))).rows[0].n);
    return {
      customerNumber,
      customerIds: ids,
      attempts: await count('sync_attempts', ATTEMPT_WHO, 2),
      records: await count('records', RECORD_WHO, 2),
      jobs: await count('jobs', JOB_WHO, 2),
      syncState: await count('customer_state', STATE_WHO, 3),
      trials: await count('trial_attempts', ATTEMPT_WHO, 2),
      webhookEvents: await count('webhook_events', EVENT_WHO, 2),
      templates: (await this.ownTemplates(this.db, p)).length,
    };
  }

  async eraseCustomer(customerNumber: string, now?: number): Promise<CustomerTraces> {
    return this.db.tx(
      async (c, t) => {
        const first = await this.knownIds(c, customerNumber);
        // The same locks enqueues take: a webhook for this customer waits instead of racing the erasure.
        await lockKeys(c, [`number:${customerNumber}`, ...first.map((id) => `id:${id}`)].map((key) => ({ ns: KEY_LOCK.customer, key })));
        const ids = await this.knownIds(c, customerNumber);
        const p = [customerNumber, ids, this.stateNamespace()];
        const jobs = (await c.query(`SELECT id, state, lease_owner, lease_until FROM jobs WHERE ${JOB_WHO} FOR UPDATE`, p.slice(0, 2))).rows as Row[];
        const busy = jobs.find((j) => j.state === 'batched' || ((j.state === 'calling' || j.state === 'answered') && Number(j.lease_until ?? 0) > t));
        if (busy) throw inFlight(customerNumber, busy);
        const templates = await this.ownTemplates(c, p);
        const run = async (sql: string, uses: number, extra: unknown[] = []) => (await c.query(sql, [...p.slice(0, uses), ...extra])).rowCount ?? 0;
        const out: CustomerTraces = {
          ...NO_TRACES(customerNumber),
          customerIds: ids,
          // The ledger keeps the row (its tokens and cost count in spend caps and usage); who and what go.
          attempts: await run(`UPDATE sync_attempts SET customer_id = NULL, customer_number = NULL, requested_ref = $3, ${BLANK},
              error_fix = NULL, response_id = NULL, request_id = NULL, flags = NULL, job_id = NULL WHERE ${ATTEMPT_WHO}`, 2, [ERASED_REF]),
          trials: await run(`UPDATE trial_attempts SET customer_id = NULL, customer_number = NULL, requested_ref = $3, ${BLANK}, response_id = NULL WHERE ${ATTEMPT_WHO}`, 2, [ERASED_REF]),
          records: await run(`DELETE FROM records WHERE ${RECORD_WHO}`, 2),
          jobs: await run(`DELETE FROM jobs WHERE ${JOB_WHO}`, 2),
          syncState: await run(`DELETE FROM customer_state WHERE ${STATE_WHO}`, 3),
          webhookEvents: await run(`DELETE FROM webhook_events WHERE ${EVENT_WHO}`, 2),
        };
        out.templates = templates.length ? ((await c.query('DELETE FROM request_templates WHERE key = ANY($1::text[])', [templates])).rowCount ?? 0) : 0;
        return out;
      },
      { now },
    );
  }

  async scrubFreedSpace(): Promise<string[]> {
    // Outside a transaction (VACUUM cannot run in one); the role owns these tables.
    await this.db.query(`VACUUM (ANALYZE) ${ERASED_TABLES.join(', ')}`);
    return [
      `PostgreSQL: VACUUM of ${ERASED_TABLES.join(', ')}: the erased row versions are removed from the tables and their indexes once no open transaction can still see them`,
      'PostgreSQL: copies in the server\'s WAL, archived WAL, replicas and backups are outside the connector\'s reach (README: "What is stored, and how to erase it")',
    ];
  }
}
