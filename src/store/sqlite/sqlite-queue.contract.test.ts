import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { queueContract } from '../queue-contract.js';
import { SqliteStore } from './sqlite-store.js';

queueContract('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'queue-contract-'));
  const file = path.join(dir, 'queue.db');
  const a = new SqliteStore(file);
  const b = new SqliteStore(file);
  const force = a.db.prepare('UPDATE jobs SET state = @state, hold_kind = @holdKind, hold_reason = @holdReason, answer_json = @answer, lease_owner = NULL, lease_until = NULL WHERE id = @id');
  return {
    jobs: a.queue,
    other: b.queue,
    runs: a.runs,
    log: a.log,
    forceState: (id, state, fields = {}) => {
      force.run({ id, state, holdKind: state === 'held' ? 'budget' : null, holdReason: state === 'held' ? (fields.holdReason ?? 'budget: cap') : null, answer: fields.answer === undefined ? null : JSON.stringify(fields.answer) });
    },
    async close() {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
