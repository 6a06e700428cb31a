import type { SqliteDatabase } from './sqlite-database.js';
import type { Pause, PauseKind, PausePort } from '../ports.js';

/**
 * Pauses live in the database, not in a process's memory: `ipaas-openai retry` in any process lifts
 * the pause a running `serve` is waiting in, and a restart does not forget it.
 */
export class SqlitePauseStore implements PausePort {
  private readonly s;

  constructor(db: SqliteDatabase) {
    this.s = {
      get: db.prepare('SELECT kind, reason, since FROM pauses WHERE kind = ?'),
      set: db.prepare('INSERT OR IGNORE INTO pauses (kind, reason, since) VALUES (@kind, @reason, @since)'),
      clear: db.prepare('DELETE FROM pauses WHERE kind = ?'),
    };
  }

  async get(kind: PauseKind): Promise<Pause | undefined> {
    return this.s.get.get(kind) as Pause | undefined;
  }

  /** True when this call started the pause (it was not paused already). */
  async set(kind: PauseKind, reason: string, now = Date.now()): Promise<boolean> {
    return this.s.set.run({ kind, reason, since: now }).changes === 1;
  }

  /** True when a pause was lifted. */
  async clear(kind: PauseKind): Promise<boolean> {
    return this.s.clear.run(kind).changes === 1;
  }
}
