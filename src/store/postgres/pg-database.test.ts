/**
 * The PostgreSQL connection pool when the server ends a connection (a fast shutdown, a failover, an
 * administrator's pg_terminate_backend): the process lives on and the next statement gets a fresh
 * connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { PgDatabase } from './pg-database.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => cluster?.stop());

describe('PgDatabase when the server ends a connection', () => {
  it('a client handed out by the pool, terminated before anyone listens on it, does not end the process', async () => {
    const db = new PgDatabase(await cluster.createDatabase(), { max: 2 });
    try {
      // The gap tx() has between the pool handing a client over and its own listener going on.
      const held = await db.pool.connect();
      const pid = (await held.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const ended = new Promise<void>((resolve) => held.once('end', () => resolve()));
      await db.query('SELECT pg_terminate_backend($1)', [pid]);
      await ended; // the FATAL arrived and was emitted as 'error' on the client: without a listener, an uncaught exception
      await expect(held.query('SELECT 1')).rejects.toThrow(/not queryable|terminat|ended/i);
      held.release(new Error('terminated'));

      expect((await db.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      expect(await db.tx(async (c) => (await c.query('SELECT 2 AS two')).rows[0].two)).toBe(2);
    } finally {
      await db.close();
    }
  });

  it('a transaction whose connection is terminated mid-way fails as the store being unavailable, and the next one works', async () => {
    const db = new PgDatabase(await cluster.createDatabase(), { max: 2 });
    try {
      const failed = db.tx(async (c) => {
        const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
        await db.query('SELECT pg_terminate_backend($1)', [pid]);
        await new Promise((r) => setTimeout(r, 100));
        return c.query('SELECT 1');
      });
      await expect(failed).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(await db.tx(async (c) => (await c.query('SELECT 3 AS three')).rows[0].three)).toBe(3);
    } finally {
      await db.close();
    }
  });
});
