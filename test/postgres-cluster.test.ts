import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgres } from './helpers/postgres.js';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe('throwaway PostgreSQL cluster (test helper)', () => {
  it('starts, answers SELECT 1 on a fresh database, and stops leaving nothing behind', async () => {
    const cluster = await startPostgres();
    try {
      const url = await cluster.createDatabase();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
      expect(await portOpen(cluster.port)).toBe(true);
    } finally {
      await cluster.stop();
    }
    await cluster.stop(); // idempotent
    expect(await portOpen(cluster.port)).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
