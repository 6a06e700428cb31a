/**
 * `ipaas-openai purge --customer` (the CLI as a real process) after a customer was synced over HTTP
 * against the emulators, tried in the prompt lab and named by a webhook: afterwards the raw bytes of
 * the SQLite files (.db, -wal, -shm, read while another connection keeps the WAL open, as a running
 * serve would) hold none of its values, and another customer's data is all still there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS, type SampleCustomer } from '../emulators/sample-customers.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { takeInWebhook } from '../src/triggers/webhook-intake.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

const ZELINDA: SampleCustomer = {
  customer_number: 'ERASE-7731',
  first_name: 'Zelinda',
  last_name: 'Quorrington',
  email_address: 'zelinda.quorrington@erase-me.example',
  company: 'Theremin Works',
  comment: 'Collects vintage theremins.',
  categories: ['Retail'],
};
/** What must not be found anywhere in the files once it is erased. */
const TRACES = ['zelinda.quorrington@erase-me.example', 'Zelinda', 'Quorrington', 'ERASE-7731', 'vintage theremins'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The database's files as bytes, all three; the -wal and -shm only while some connection keeps them. */
function rawFiles(db: string): Buffer {
  return Buffer.concat([db, `${db}-wal`, `${db}-shm`].filter(existsSync).map((f) => readFileSync(f)));
}
const holds = (bytes: Buffer, text: string) => bytes.includes(Buffer.from(text, 'utf8'));

describe('purge --customer', () => {
  it('leaves no trace of the customer in the raw database files after the checkpoint; another customer keeps everything', async () => {
    h = await startHarness({ ipaas: { customers: [...SAMPLE_CUSTOMERS, ZELINDA] } });
    const db = h.env.IPAAS_OPENAI_DB!;
    const store = h.connector.store;
    const synced = await runSync(h.connector, [{ customerNumber: 'ERASE-7731' }, { customerNumber: 'CUST-10045' }], { trigger: { source: 'manual' } });
    expect(synced.synced).toBe(2);
    const id = synced.results.find((r) => r.attempt.customerNumber === 'ERASE-7731')!.attempt.customerId!;
    const tried = await runCli(['try', 'ERASE-7731', '--yes'], { cwd: h.dir, env: h.env });
    expect(tried.code, tried.stderr).toBe(0);
    // A webhook naming it by its id only (a deletion: skipped, but the delivery is remembered).
    await takeInWebhook(store, h.loaded.config, { id: 'dlv-1', attempt: 1, notifications: [{ id, scope: 'customer/deleted' }] }, () => new Date(), (s) => s);

    // Everything is there before: the test can see what it looks for.
    const before = rawFiles(db);
    for (const t of TRACES) expect(holds(before, t), t).toBe(true);
    const keanu = (await store.log.list({ customerNumber: 'CUST-10045' }))[0]!;
    const ledger = await store.ledger.since('2000-01-01T00:00:00.000Z');

    const r = await runCli(['purge', '--customer', 'ERASE-7731', '--yes'], { cwd: h.dir, env: h.env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`To erase: customer ERASE-7731 (iPaaS.com id ${id}): 2 sync attempts`);
    expect(r.stdout).toMatch(/Erased customer ERASE-7731 .*1 trial attempt .*2 records, 1 job with their stored answers, 1 sync state \(values written\), 1 webhook delivery/);
    expect(r.stdout).toMatch(/Freed space: SQLite: VACUUM rebuilt/);

    const after = rawFiles(db);
    for (const t of TRACES) expect(holds(after, t), `${t} is still in the database files`).toBe(false);
    // The other customer's request, answer and written values are all there, in the files and read back.
    for (const t of ['keanu.reeves@example.com', 'Keanu', 'Reeves', 'Prefers email contact.']) expect(holds(after, t), t).toBe(true);
    expect(await store.log.get(keanu.id)).toEqual(keanu);
    expect(await store.state.get(keanu.customerId!)).toMatchObject({ customerNumber: 'CUST-10045' });
    // The ledger keeps the erased customer's cost, anonymous.
    expect(await store.ledger.since('2000-01-01T00:00:00.000Z')).toEqual(ledger);
    const logs = await runCli(['logs'], { cwd: h.dir, env: h.env });
    expect(logs.stdout).toContain('(erased)');
    expect(logs.stdout).not.toContain('ERASE-7731');

    // Nothing is left to find; erasing again says so and what to do.
    const again = await runCli(['purge', '--customer', 'ERASE-7731', '--yes'], { cwd: h.dir, env: h.env });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/holds nothing about customer ERASE-7731[\s\S]*Fix: Check the CustomerNumber/);
  });

  it('asks first: off a terminal without --yes it refuses (exit 2) and erases nothing', async () => {
    h = await startHarness();
    await runSync(h.connector, [{ customerNumber: 'CUST-10046' }], { trigger: { source: 'manual' } });
    const r = await runCli(['purge', '--customer', 'CUST-10046'], { cwd: h.dir, env: h.env });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/To erase: customer CUST-10046 \(iPaaS\.com id \d+\): 1 sync attempt/);
    expect(r.stderr).toMatch(/Not confirmed: this is not a terminal\.\nFix: Add --yes/);
    expect(await h.connector.store.log.list({ customerNumber: 'CUST-10046' })).toHaveLength(1);
  });

  it('a database another connection keeps busy: the scrub is not done, purge says so and what to do, exit 1', async () => {
    h = await startHarness();
    const other = new DatabaseSync(h.env.IPAAS_OPENAI_DB!);
    try {
      other.exec('BEGIN IMMEDIATE'); // a writer that does not let go (a stuck serve, a backup tool)
      const r = await runCli(['purge', '--yes'], { cwd: h.dir, env: h.env });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/Purged bodies older than 30 days/);
      expect(r.stderr).toMatch(/could not be checkpointed and truncated: another connection kept the database busy[\s\S]*Fix: Run `ipaas-openai purge --yes` again when the connector is quiet/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });
});
