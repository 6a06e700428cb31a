/**
 * iPaaS.com's API Throttle Limit is the subscription's: with several instances on one PostgreSQL
 * database, `ipaas.throttlePerSecond` is counted over all of them (the shared rate budget, its own key),
 * not once per process. Two clients on two storages (own pools) call a loopback server that records
 * when each request arrives; no second of arrivals holds more than the limit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMER } from '../src/ipaas/entities.js';
import { IpaasClient } from '../src/ipaas/ipaas-client.js';
import { openPostgresStorage } from '../src/store/postgres/index.js';
import { sharedPacingOf, type Storage } from '../src/store/ports.js';
import { startPostgres, type PostgresCluster } from './helpers/postgres.js';

const PER_SECOND = 5;
const CALLS = 30;
let cluster: PostgresCluster;
let server: Server;
let base = '';
const arrivals: number[] = [];

beforeAll(async () => {
  cluster = await startPostgres();
  server = createServer((req, res) => {
    arrivals.push(performance.now());
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: 1, customer_number: 'CUST-1', custom_fields: [] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await cluster?.stop();
});

describe('iPaaS.com API Throttle Limit across instances', () => {
  it(`two instances at ${PER_SECOND}/s each allowed: together never more than ${PER_SECOND} requests in a second`, async () => {
    const url = await cluster.createDatabase();
    const stores: Storage[] = [await openPostgresStorage(url, { instance: 'a', poolSize: 2 }), await openPostgresStorage(url, { instance: 'b', poolSize: 2 })];
    const clients = stores.map((s) => {
      const c = new IpaasClient({ baseUrl: base, apiKey: 'k', timeoutMs: 10_000, maxRetries: 0, throttlePerSecond: PER_SECOND, redact: (t) => t });
      c.shareThrottle(sharedPacingOf(s)!.rateBudget, `ipaas:${base}`);
      return c;
    });
    try {
      await Promise.all(Array.from({ length: CALLS }, (_, i) => clients[i % 2]!.getRecord(CUSTOMER, '1')));
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all(stores.map((s) => s.close()));
    }
    expect(arrivals).toHaveLength(CALLS);
    arrivals.sort((x, y) => x - y);
    // A hair under a second, for the network between the grant and the arrival.
    let most = 0;
    for (let i = 0; i < arrivals.length; i++) most = Math.max(most, arrivals.filter((t) => t >= arrivals[i]! && t < arrivals[i]! + 950).length);
    expect(most).toBeLessThanOrEqual(PER_SECOND);
    // Without sharing, each would send its 15 at 5/s: 10 a second together, done in ~3 s instead of ~6.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(((CALLS / PER_SECOND) - 1) * 1000 - 100);
  }, 60_000);
});
