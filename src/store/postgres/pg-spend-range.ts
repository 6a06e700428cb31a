import type { SpendRangePort } from '../ports.js';
import type { PgDatabase } from './pg-database.js';

/** The spend by stretch of time (attempts and trials by started_at, as the ledger's `since` counts them). */
export class PgSpendRange implements SpendRangePort {
  constructor(private readonly db: PgDatabase) {}

  async between(fromIso: string, toIso: string): Promise<{ tokens: number; usd: number }> {
    const r = (
      await this.db.query(
        `SELECT coalesce(sum(tokens), 0) AS tokens, coalesce(sum(usd), 0)::float8 AS usd FROM (
           SELECT sum(input_tokens + output_tokens) AS tokens, sum(cost_usd) AS usd FROM sync_attempts WHERE started_at >= $1 AND started_at < $2
           UNION ALL SELECT sum(input_tokens + output_tokens), sum(cost_usd) FROM trial_attempts WHERE started_at >= $1 AND started_at < $2) s`,
        [fromIso, toIso],
      )
    ).rows[0];
    return { tokens: r.tokens as number, usd: r.usd as number };
  }
}
