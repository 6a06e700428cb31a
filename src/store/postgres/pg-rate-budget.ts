/**
 * The OpenAI rate budget every instance on this database shares: one `rate_budgets` row per key
 * (OpenAI base URL + model), each operation one statement. The arithmetic is pacing/shared-rate-budget.ts
 * (reserveStep, reportStep) written in SQL; the contract test runs both against the same operations.
 *
 * Each statement locks the row (FOR UPDATE in its first CTE, which under READ COMMITTED returns the
 * newest committed version, after waiting for a concurrent statement on it), computes from that row,
 * and updates it: a refill-and-take is atomic across instances without a transaction around it. Times
 * are the database clock (`clock_timestamp()`, fractional ms), never an instance's: instances only get
 * durations back. `greatest(updated_at, now)` keeps a budget's time from running backwards (a
 * statement that read the clock before waiting for the lock, or a clock stepped back).
 */
import type { RateAsk, RateBudgetPort, RateReport, RateReservation, RateView } from '../ports.js';
import type { PgDatabase, Row } from './pg-database.js';

/** The database clock in fractional epoch milliseconds. */
const NOW = `(extract(epoch from clock_timestamp()) * 1000)::float8`;

const ENSURE = `INSERT INTO rate_budgets (key, updated_at) VALUES ($1, coalesce($2::float8, ${NOW})) ON CONFLICT (key) DO NOTHING`;

/** $1 key, $2 tokens, $3 rpm, $4 tpm, $5 utilization, $6 per-window count, $7 window ms, $8 now (null: the database clock). */
const RESERVE = `
WITH cur AS (
  SELECT * FROM rate_budgets WHERE key = $1 FOR UPDATE
), t AS (
  SELECT cur.*, greatest(cur.updated_at, coalesce($8::float8, ${NOW})) AS now_ms,
    least(cur.req_limit, $3::float8) AS r_lim,
    least(cur.req_limit * $5::float8 / cur.req_window_ms, $3::float8 * $5::float8 / 60000) AS r_rate,
    least(cur.tok_limit, $4::float8) AS k_lim,
    least(cur.tok_limit * $5::float8 / cur.tok_window_ms, $4::float8 * $5::float8 / 60000) AS k_rate
  FROM cur
), f AS (
  SELECT t.*, t.r_lim * $5::float8 AS r_cap, t.k_lim * $5::float8 AS k_cap,
    least(t.r_lim * $5::float8, coalesce(t.req_level, t.r_lim * $5::float8) + (t.now_ms - t.updated_at) * t.r_rate) AS r,
    least(t.k_lim * $5::float8, coalesce(t.tok_level, t.k_lim * $5::float8) + (t.now_ms - t.updated_at) * t.k_rate) AS k,
    least(1, t.r_lim * $5::float8) AS r_want,
    least($2::float8, t.k_lim * $5::float8) AS k_want,
    CASE WHEN $6::int IS NOT NULL AND cardinality(t.starts) >= $6::int THEN t.starts[cardinality(t.starts) - $6::int + 1] + $7::float8 END AS w_free_at
  FROM t
), d AS (
  SELECT f.*, (f.paused_until <= f.now_ms
      AND (f.r IS NULL OR f.r >= f.r_want - 1e-9 * greatest(1, f.r_want))
      AND (f.k IS NULL OR f.k >= f.k_want - 1e-9 * greatest(1, f.k_want))
      AND (f.w_free_at IS NULL OR f.w_free_at <= f.now_ms)) AS ok
  FROM f
)
UPDATE rate_budgets u SET
  req_level = CASE WHEN d.ok THEN d.r - 1 ELSE d.r END,
  tok_level = CASE WHEN d.ok THEN d.k - $2::float8 ELSE d.k END,
  req_taken = d.req_taken + CASE WHEN d.ok THEN 1 ELSE 0 END,
  tok_taken = d.tok_taken + CASE WHEN d.ok THEN $2::float8 ELSE 0 END,
  starts = CASE WHEN $6::int IS NULL THEN '{}'::float8[]
                WHEN d.ok THEN (d.starts || d.now_ms)[greatest(1, cardinality(d.starts) + 2 - $6::int):]
                ELSE d.starts END,
  updated_at = d.now_ms
FROM d WHERE u.key = d.key
RETURNING d.ok AS granted,
  CASE WHEN d.ok THEN 0 ELSE greatest(0, d.paused_until - d.now_ms, coalesce(d.w_free_at - d.now_ms, 0),
    coalesce((d.r_want - d.r) / d.r_rate, 0), coalesce((d.k_want - d.k) / d.k_rate, 0)) END AS wait_ms,
  u.req_taken, u.tok_taken, u.req_level, u.tok_level, d.r_lim, d.k_lim, d.r_cap, d.k_cap,
  greatest(0, u.paused_until - d.now_ms) AS paused_ms`;

/**
 * $1 key, $2 rpm, $3 tpm, $4 utilization, $5 tokens given back (< 0: taken), $6 requests given back,
 * $7..$9 server requests limit/window/remaining, $10..$12 the same for tokens, $13/$14 the mark the
 * server's answer counted through (null: no server view), $15 cool-down ms, $16 now.
 */
const REPORT = `
WITH cur AS (
  SELECT * FROM rate_budgets WHERE key = $1 FOR UPDATE
), t AS (
  SELECT cur.*, greatest(cur.updated_at, coalesce($16::float8, ${NOW})) AS now_ms,
    coalesce($7::float8, cur.req_limit) AS n_req_limit, coalesce($8::float8, cur.req_window_ms) AS n_req_window,
    coalesce($10::float8, cur.tok_limit) AS n_tok_limit, coalesce($11::float8, cur.tok_window_ms) AS n_tok_window,
    ($13::float8 IS NOT NULL AND $13::float8 >= cur.synced_through) AS fresh
  FROM cur
), f AS (
  -- refilled under the limits known so far; then the buckets the new limits make
  SELECT t.*,
    least(least(t.req_limit, $2::float8) * $4::float8,
      coalesce(t.req_level, least(t.req_limit, $2::float8) * $4::float8)
        + (t.now_ms - t.updated_at) * least(t.req_limit * $4::float8 / t.req_window_ms, $2::float8 * $4::float8 / 60000)) AS r0,
    least(least(t.tok_limit, $3::float8) * $4::float8,
      coalesce(t.tok_level, least(t.tok_limit, $3::float8) * $4::float8)
        + (t.now_ms - t.updated_at) * least(t.tok_limit * $4::float8 / t.tok_window_ms, $3::float8 * $4::float8 / 60000)) AS k0,
    least(t.n_req_limit, $2::float8) AS r_lim,
    least(t.n_tok_limit, $3::float8) AS k_lim
  FROM t
), g AS (
  SELECT f.*,
    CASE WHEN f.r_lim IS NOT NULL THEN least(f.r_lim * $4::float8, coalesce(f.r0, f.r_lim * $4::float8)) END AS r1,
    CASE WHEN f.k_lim IS NOT NULL THEN least(f.k_lim * $4::float8, coalesce(f.k0, f.k_lim * $4::float8)) END AS k1
  FROM f
), h AS (
  -- never above what the server says is left, less headroom, less what was granted after its answer's mark
  SELECT g.*,
    CASE WHEN g.r1 IS NOT NULL AND g.fresh AND $9::float8 IS NOT NULL
      THEN least(g.r1, $9::float8 - (1 - $4::float8) * coalesce(g.n_req_limit, g.r_lim) - greatest(0, g.req_taken - $13::float8))
      ELSE g.r1 END AS r2,
    CASE WHEN g.k1 IS NOT NULL AND g.fresh AND $12::float8 IS NOT NULL
      THEN least(g.k1, $12::float8 - (1 - $4::float8) * coalesce(g.n_tok_limit, g.k_lim) - greatest(0, g.tok_taken - $14::float8))
      ELSE g.k1 END AS k2
  FROM g
)
UPDATE rate_budgets u SET
  req_limit = h.n_req_limit, req_window_ms = h.n_req_window, tok_limit = h.n_tok_limit, tok_window_ms = h.n_tok_window,
  req_level = CASE WHEN h.r2 IS NULL OR $6::float8 = 0 THEN h.r2
                   WHEN $6::float8 > 0 THEN least(h.r_lim * $4::float8, h.r2 + $6::float8) ELSE h.r2 + $6::float8 END,
  tok_level = CASE WHEN h.k2 IS NULL OR $5::float8 = 0 THEN h.k2
                   WHEN $5::float8 > 0 THEN least(h.k_lim * $4::float8, h.k2 + $5::float8) ELSE h.k2 + $5::float8 END,
  synced_through = CASE WHEN h.fresh THEN greatest(h.synced_through, $13::float8) ELSE h.synced_through END,
  paused_until = CASE WHEN $15::float8 > 0 THEN greatest(h.paused_until, h.now_ms + $15::float8) ELSE h.paused_until END,
  updated_at = h.now_ms
FROM h WHERE u.key = h.key
RETURNING u.req_taken, u.tok_taken, u.req_level, u.tok_level, h.r_lim, h.k_lim,
  h.r_lim * $4::float8 AS r_cap, h.k_lim * $4::float8 AS k_cap, greatest(0, u.paused_until - h.now_ms) AS paused_ms`;

const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function viewOf(r: Row): RateView {
  const v: RateView = { pausedMs: Number(r.paused_ms), mark: { requests: Number(r.req_taken), tokens: Number(r.tok_taken) } };
  const rl = num(r.r_lim);
  const kl = num(r.k_lim);
  if (rl !== undefined) Object.assign(v, { requestsLimit: rl, requestsCapacity: num(r.r_cap), requests: num(r.req_level) });
  if (kl !== undefined) Object.assign(v, { tokensLimit: kl, tokensCapacity: num(r.k_cap), tokens: num(r.tok_level) });
  return v;
}

export class PgRateBudget implements RateBudgetPort {
  private readonly ensured = new Set<string>();

  constructor(private readonly db: PgDatabase) {}

  /** Runs `sql` on the key's row, creating the row first if this process has not seen it (or it is gone). */
  private async onRow(key: string, now: number | undefined, sql: string, values: unknown[]): Promise<Row> {
    for (let attempt = 0; ; attempt++) {
      if (!this.ensured.has(key) || attempt > 0) {
        await this.db.query(ENSURE, [key, now ?? null]);
        this.ensured.add(key);
      }
      const row = (await this.db.query(sql, values)).rows[0] as Row | undefined;
      if (row) return row;
      if (attempt > 0) throw new Error(`The rate budget row ${JSON.stringify(key)} vanished while it was in use.`);
    }
  }

  async reserve(key: string, ask: RateAsk, now?: number): Promise<RateReservation> {
    const r = await this.onRow(key, now, RESERVE, [
      key, ask.tokens, ask.rpm ?? null, ask.tpm ?? null, ask.utilization, ask.perWindow?.count ?? null, ask.perWindow?.windowMs ?? null, now ?? null,
    ]);
    const view = viewOf(r);
    return r.granted ? { granted: true, mark: view.mark, view } : { granted: false, waitMs: Number(r.wait_ms), view };
  }

  async report(key: string, rep: RateReport, now?: number): Promise<RateView> {
    const s = rep.server;
    const r = await this.onRow(key, now, REPORT, [
      key, rep.rpm ?? null, rep.tpm ?? null, rep.utilization, rep.tokens ?? 0, rep.requests ?? 0,
      s?.requests?.limit ?? null, s?.requests?.windowMs ?? null, s?.requests?.remaining ?? null,
      s?.tokens?.limit ?? null, s?.tokens?.windowMs ?? null, s?.tokens?.remaining ?? null,
      s ? s.countedThrough.requests : null, s ? s.countedThrough.tokens : null,
      rep.coolDownMs ?? 0, now ?? null,
    ]);
    return viewOf(r);
  }
}
