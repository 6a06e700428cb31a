import type { PromptVersionsPort, StoredTrialAttempt, TrialAttemptRecord, TrialsPort } from '../ports.js';
import type { Redaction } from '../redaction.js';
import { toTrial, TRIAL_COLUMNS, trialValues } from '../trial-rows.js';
import { DB_NOW_MS, type PgDatabase, type Row } from './pg-database.js';

const INSERT = `INSERT INTO trial_attempts (${TRIAL_COLUMNS.join(', ')}) VALUES (${TRIAL_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`;

/** Prompt-lab calls, apart from the sync log (see TrialsPort), shared by every instance. */
export class PgTrials implements TrialsPort {
  constructor(
    private readonly db: PgDatabase,
    private readonly r: Redaction,
    private readonly instance: string | null,
  ) {}

  async record(t: TrialAttemptRecord): Promise<StoredTrialAttempt> {
    const id = Number((await this.db.query(INSERT, trialValues(t, this.r, this.instance))).rows[0].id);
    return { ...t, id, instance: this.instance };
  }

  async list(q: { trialId?: string | undefined; customerNumber?: string | undefined; limit?: number; offset?: number } = {}): Promise<StoredTrialAttempt[]> {
    const where: string[] = [];
    const values: unknown[] = [q.limit ?? 50, q.offset ?? 0];
    if (q.trialId) where.push(`trial_id = $${values.push(q.trialId)}`);
    if (q.customerNumber) where.push(`(customer_number = $${values.push(q.customerNumber)} OR requested_ref = $${values.length})`);
    const sql = `SELECT * FROM trial_attempts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $1 OFFSET $2`;
    return (await this.db.query(sql, values)).rows.map(toTrial);
  }

  async runs(limit = 20): Promise<Array<{ trialId: string; startedAt: string; calls: number; customers: number; costUsd: number }>> {
    const rows = (
      await this.db.query(
        `SELECT trial_id, min(started_at) AS started_at, count(*)::int AS calls, count(DISTINCT requested_ref)::int AS customers, coalesce(sum(cost_usd), 0)::float8 AS cost
           FROM trial_attempts GROUP BY trial_id ORDER BY max(id) DESC LIMIT $1`,
        [limit],
      )
    ).rows as Row[];
    return rows.map((r) => ({ trialId: r.trial_id as string, startedAt: r.started_at as string, calls: Number(r.calls), customers: Number(r.customers), costUsd: Number(r.cost) }));
  }
}

export class PgPromptVersions implements PromptVersionsPort {
  private readonly known = new Set<string>();

  constructor(
    private readonly db: PgDatabase,
    private readonly r: Redaction,
  ) {}

  async remember(v: { id: string; text: string }, now?: number): Promise<void> {
    if (this.known.has(v.id)) return;
    await this.db.query(`INSERT INTO prompt_versions (id, text, first_seen) VALUES ($1, $2, coalesce($3::bigint, ${DB_NOW_MS})) ON CONFLICT (id) DO NOTHING`, [v.id, this.r.text(v.text), now ?? null]);
    this.known.add(v.id);
  }

  async get(id: string): Promise<{ id: string; text: string; firstSeen: number } | undefined> {
    const r = (await this.db.query('SELECT id, text, first_seen FROM prompt_versions WHERE id = $1', [id])).rows[0];
    return r ? { id: r.id as string, text: r.text as string, firstSeen: Number(r.first_seen) } : undefined;
  }
}
