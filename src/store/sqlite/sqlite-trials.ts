import type { PromptVersionsPort, StoredTrialAttempt, TrialAttemptRecord, TrialsPort } from '../ports.js';
import { redaction, type Redact } from '../redaction.js';
import { toTrial, TRIAL_COLUMNS, trialValues } from '../trial-rows.js';
import type { SqliteDatabase } from './sqlite-database.js';

type Row = Record<string, unknown>;

/** Prompt-lab calls, apart from the sync log (see TrialsPort). */
export class SqliteTrials implements TrialsPort {
  private readonly s;
  private readonly r;

  constructor(
    private readonly db: SqliteDatabase,
    redact: Redact,
    private readonly instance: string | null,
  ) {
    this.r = redaction(redact);
    this.s = {
      insert: db.prepare(`INSERT INTO trial_attempts (${TRIAL_COLUMNS.join(', ')}) VALUES (${TRIAL_COLUMNS.map(() => '?').join(', ')})`),
      runs: db.prepare(`SELECT trial_id, min(started_at) AS started_at, count(*) AS calls, count(DISTINCT requested_ref) AS customers, coalesce(sum(cost_usd), 0) AS cost
        FROM trial_attempts GROUP BY trial_id ORDER BY max(id) DESC LIMIT ?`),
    };
  }

  async record(t: TrialAttemptRecord): Promise<StoredTrialAttempt> {
    const info = this.s.insert.run(...trialValues(t, this.r, this.instance));
    return { ...t, id: Number(info.lastInsertRowid), instance: this.instance };
  }

  async list(q: { trialId?: string | undefined; customerNumber?: string | undefined; limit?: number; offset?: number } = {}): Promise<StoredTrialAttempt[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.trialId) (where.push('trial_id = ?'), params.push(q.trialId));
    if (q.customerNumber) (where.push('(customer_number = ? OR requested_ref = ?)'), params.push(q.customerNumber, q.customerNumber));
    const sql = `SELECT * FROM trial_attempts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ? OFFSET ?`;
    return (this.db.prepare(sql).all(...params, q.limit ?? 50, q.offset ?? 0) as Row[]).map(toTrial);
  }

  async runs(limit = 20): Promise<Array<{ trialId: string; startedAt: string; calls: number; customers: number; costUsd: number }>> {
    return (this.s.runs.all(limit) as Row[]).map((r) => ({ trialId: r.trial_id as string, startedAt: r.started_at as string, calls: Number(r.calls), customers: Number(r.customers), costUsd: Number(r.cost) }));
  }
}

export class SqlitePromptVersions implements PromptVersionsPort {
  private readonly s;
  private readonly known = new Set<string>();

  constructor(db: SqliteDatabase, private readonly redact: Redact) {
    this.s = {
      put: db.prepare('INSERT OR IGNORE INTO prompt_versions (id, text, first_seen) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT id, text, first_seen FROM prompt_versions WHERE id = ?'),
    };
  }

  async remember(v: { id: string; text: string }, now = Date.now()): Promise<void> {
    if (this.known.has(v.id)) return;
    this.s.put.run(v.id, this.redact(v.text), now);
    this.known.add(v.id);
  }

  async get(id: string): Promise<{ id: string; text: string; firstSeen: number } | undefined> {
    const r = this.s.get.get(id) as Row | undefined;
    return r ? { id: r.id as string, text: r.text as string, firstSeen: Number(r.first_seen) } : undefined;
  }
}
