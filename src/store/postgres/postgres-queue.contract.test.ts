import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { queueContract } from '../queue-contract.js';
import { openPostgresStorage } from './index.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => cluster?.stop());

// Two instances (separate pools) on one fresh database per test.
queueContract('PostgreSQL', async () => {
  const url = await cluster.createDatabase();
  const a = await openPostgresStorage(url, {});
  const b = await openPostgresStorage(url, {});
  const raw = new pg.Client({ connectionString: url });
  await raw.connect();
  return {
    jobs: a.queue,
    other: b.queue,
    runs: a.runs,
    log: a.log,
    forceState: async (id, state, fields = {}) => {
      await raw.query('UPDATE jobs SET state = $2, hold_kind = $3, hold_reason = $4, answer_json = $5, lease_owner = NULL, lease_until = NULL WHERE id = $1', [
        id,
        state,
        state === 'held' ? 'budget' : null,
        state === 'held' ? (fields.holdReason ?? 'budget: cap') : null,
        fields.answer === undefined ? null : JSON.stringify(fields.answer),
      ]);
    },
    async close() {
      await raw.end();
      await a.close();
      await b.close();
    },
  };
});
