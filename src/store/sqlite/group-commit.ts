import type { SqliteDatabase } from './sqlite-database.js';

interface Pending {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: units of work queued in the same turn of the event loop run
 * in one transaction, each in its own savepoint (one failing unit rolls back
 * alone). Each caller's promise settles only after the commit, so "stored"
 * still means durably stored; the cost of a commit is shared by everyone in it.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: SqliteDatabase) {}

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    const results: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const item of batch) {
          try {
            results.push({ ok: true, value: this.db.transaction(item.fn)() });
          } catch (err) {
            results.push({ ok: false, value: err });
          }
        }
      }).immediate();
    } catch (err) {
      // The commit itself failed: nothing of this group is stored.
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => (results[i]!.ok ? item.resolve(results[i]!.value) : item.reject(results[i]!.value)));
  }
}
