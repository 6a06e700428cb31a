import type { Pause, PauseKind, PausePort } from '../ports.js';
import type { PgDatabase } from './pg-database.js';
import type { Redaction } from '../redaction.js';

/** Pauses every instance sees: `ipaas-openai retry` on any host lifts the pause a running `serve` waits in. */
export class PgPauses implements PausePort {
  constructor(
    private readonly db: PgDatabase,
    private readonly r: Redaction,
  ) {}

  async get(kind: PauseKind): Promise<Pause | undefined> {
    const r = (await this.db.query('SELECT kind, reason, since FROM pauses WHERE kind = $1', [kind])).rows[0];
    return r ? { kind: r.kind as PauseKind, reason: r.reason as string, since: r.since as number } : undefined;
  }

  /** True when this call started the pause (of instances pausing at once, exactly one). */
  async set(kind: PauseKind, reason: string, now?: number): Promise<boolean> {
    const t = await this.db.clock(now);
    return (await this.db.query('INSERT INTO pauses (kind, reason, since) VALUES ($1, $2, $3) ON CONFLICT (kind) DO NOTHING', [kind, this.r.text(reason), t])).rowCount === 1;
  }

  async clear(kind: PauseKind): Promise<boolean> {
    return (await this.db.query('DELETE FROM pauses WHERE kind = $1', [kind])).rowCount === 1;
  }
}
