/**
 * While the store cannot write, intake refuses with 503 and a Retry-After (never 500, never 200 for
 * what is not stored). On SQLite a full disk is fatal: serve says what and where and ends with exit
 * code 1 within 10 s. On PostgreSQL an outage passes: 503 meanwhile, no exit, 200 again once it is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serveCommand } from '../src/cli/commands/serve.js';
import type { RunningService } from '../src/server/service.js';
import type { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { captureIO, startHarness, type Harness } from './helpers/harness.js';
import { serverControl } from './helpers/instances.js';
import { findPostgresBin, startPostgres, type PostgresCluster } from './helpers/postgres.js';
import { ADMIN_TOKEN, startServiceHarness, waitFor, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => {});
});

/** An iPaaS.com delivery of `count` customer updates (ids that do not exist: only intake matters here). */
const delivery = (id: number, count: number) => ({
  id,
  attempt: 1,
  notifications: Array.from({ length: count }, (_, i) => ({ action: 'updated', id: 900_000 + id * 1000 + i, scope: 'customer/updated', type: 'Customer', tracking_guid: `guid-${id}-${i}` })),
});
const post = (url: string, body: unknown) =>
  fetch(`${url}/webhooks/ipaas`, { method: 'POST', headers: { authorization: `Bearer ${WEBHOOK_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
type Refusal = { error: { status: number; message: string; fix?: string } };

/** The service's SQLite connection holds no more pages than it has: every write that needs one fails with SQLITE_FULL, as on a full disk. */
function fillDatabase(service: RunningService): string {
  const store = service.ctx.deps.store as SqliteStore;
  store.db.pragma(`max_page_count = ${store.db.pragma('page_count', { simple: true }) as number}`);
  return store.file;
}

describe('intake while the store cannot write', () => {
  it('SQLite, disk full: 503 with Retry-After naming the database, nothing of it stored, and every later delivery refused before trying', async () => {
    const h: ServiceHarness = await startServiceHarness({ webhooks: false });
    cleanups.push(() => h.close());
    expect((await post(h.service.url, delivery(1, 2))).status).toBe(200);
    const file = fillDatabase(h.service);

    const res = await post(h.service.url, delivery(2, 500));
    const body = (await res.json()) as Refusal;
    expect({ status: res.status, body }).toMatchObject({ status: 503, body: { error: { status: 503 } } });
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body.error.message).toContain(`The disk holding the database ${file} is full`);
    expect(body.error.fix).toMatch(/Free space on that disk/);
    await expect(Promise.race([h.service.faulted, new Promise((r) => setTimeout(() => r('no fault'), 2_000))])).resolves.toMatchObject({ code: 'STORAGE_FAULT' });

    // One notification would fit in a free page; it is refused all the same (the process is on its way out).
    const small = await post(h.service.url, delivery(3, 1));
    expect(small.status).toBe(503);
    // A manual sync is an acknowledgement too (202): refused alike.
    expect((await h.api('POST', '/api/sync', { customerNumbers: ['CUST-10045'] })).status).toBe(503);
    const ready = await fetch(`${h.service.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { store: { detail: string } } }).checks.store.detail).toContain(`The disk holding the database ${file} is full`);

    // Read through the harness's own connection (not limited): delivery 1 stored, 2 and 3 not.
    const stored = (h.connector.store as SqliteStore).db.prepare(`SELECT delivery_id AS d, count(*) AS n FROM webhook_events GROUP BY delivery_id ORDER BY d`).all();
    expect(stored).toEqual([{ d: '1', n: 2 }]);
  });

  it('SQLite, disk full: serve prints what and where and returns exit code 1 within 10 s', async () => {
    const h: Harness = await startHarness();
    cleanups.push(() => h.close());
    const io = captureIO({ ...h.env, IPAAS_WEBHOOK_KEY: WEBHOOK_KEY, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN_TOKEN }, h.dir);
    let service: RunningService | undefined;
    const exits: number[] = [];
    const never = new Promise<void>(() => {});
    const served = serveCommand({ port: 0 }, io, { until: never, started: (s) => (service = s), exit: (c) => exits.push(c) });
    cleanups.push(async () => service?.stop(500));
    await waitFor(() => service !== undefined, 20_000, 'serve to listen');
    const file = fillDatabase(service!);

    const t0 = Date.now();
    expect((await post(service!.url, delivery(4, 500))).status).toBe(503);
    const code = await Promise.race([served, new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
    expect(code).toBe(1);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(io.errors[0]).toBe(`error: The disk holding the database ${file} is full (SQLite: database or disk is full, code 13).`);
    expect(io.errors[1]).toMatch(/^Fix: Free space on that disk/);
    expect(io.errors[2]).toMatch(/exit code 1, for a supervisor to restart/);
    expect(exits.every((c) => c === 1)).toBe(true);
  });

  const noPostgres = !findPostgresBin();
  if (noPostgres) console.log('[store-refusal] skipped the PostgreSQL case: no initdb/pg_ctl on PATH or under /usr/lib/postgresql (apt-get install -y postgresql).');
  it.skipIf(noPostgres)('PostgreSQL stopped: 503 with Retry-After naming the server, no fault and no exit; 200 again once it is back', async () => {
    const cluster: PostgresCluster = await startPostgres();
    const server = serverControl(cluster);
    cleanups.push(async () => {
      await server.ensureRunning();
      await cluster.stop();
    });
    const url = await cluster.createDatabase();
    const h: ServiceHarness = await startServiceHarness({ webhooks: false, env: { IPAAS_OPENAI_DB: url } });
    cleanups.push(() => h.close());
    expect((await post(h.service.url, delivery(5, 2))).status).toBe(200);

    await server.stop('fast');
    const res = await post(h.service.url, delivery(6, 2));
    const body = (await res.json()) as Refusal;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body.error.message).toMatch(new RegExp(`^PostgreSQL at postgres://postgres@127\\.0\\.0\\.1:${cluster.port}/\\S+ does not answer: `));
    expect(body.error.fix).toMatch(/carries on by itself once it answers/);
    await expect(Promise.race([h.service.faulted, new Promise((r) => setTimeout(() => r('no fault'), 500))])).resolves.toBe('no fault');

    await server.start();
    let status = 0;
    await waitFor(async () => (status = (await post(h.service.url, delivery(6, 2))).status) === 200, 15_000, 'intake to take webhooks again');
    expect(status).toBe(200);
  }, 90_000);
});
