import type { ChildProcess } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { spawnCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { ADMIN_TOKEN, waitFor } from './helpers/service-harness.js';

const N = 500;
const customers = syntheticCustomers(N, 'BULK');

function startServe(h: Harness): Promise<{ child: ChildProcess; url: string }> {
  const child = spawnCli(['serve', '--port', '0', '--concurrency', '8'], { cwd: h.dir, env: { ...h.env, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN_TOKEN } });
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (d) => (out += d));
  });
}

describe('crash safety', () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await h?.close();
  });

  it(`kill -9 in the middle of ${N} queued customers: after a restart every customer is written exactly once, no stored answer is paid twice`, async () => {
    h = await startHarness({ ipaas: { customers }, openai: { latencyMs: 15 } });
    const writes = new Map<string, number>();
    const countWrites = () => {
      writes.clear();
      for (const c of h.emulators.ipaas.emulator.listCustomers()) {
        const id = c.custom_fields.find((f) => f.custom_field_name === 'Last Response ID');
        if (id) writes.set(c.customer_number!, (writes.get(c.customer_number!) ?? 0) + 1);
      }
      return writes.size;
    };
    const putsBefore = () => h.emulators.ipaas.emulator.counters.byRoute['PUT /customers/v2/Customer/:id'] ?? 0;

    const first = await startServe(h);
    children.push(first.child);
    const res = await fetch(`${first.url}/api/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ customerNumbers: customers.map((c) => c.customer_number) }),
    });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };

    await waitFor(() => putsBefore() >= 120, 60_000, 'a quarter of the writes');
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('close', r));

    // What the store holds at the moment of the crash.
    const db = new DatabaseSync(h.loaded.config.store.path, { readOnly: true });
    const answeredBeforeCrash = (db.prepare(`SELECT ref FROM jobs WHERE run_id = ? AND state IN ('answered','written')`).all(runId) as Array<{ ref: string }>).map((r) => r.ref);
    const inFlightAtCrash = (db.prepare(`SELECT count(*) AS n FROM jobs WHERE run_id = ? AND state = 'calling'`).get(runId) as { n: number }).n;
    db.close();
    expect(answeredBeforeCrash.length).toBeGreaterThan(50);
    expect(answeredBeforeCrash.length).toBeLessThan(N);

    const second = await startServe(h);
    children.push(second.child);
    await waitFor(
      async () => {
        const r = await fetch(`${second.url}/api/runs/${runId}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const body = (await r.json()) as { finished: boolean };
        return body.finished;
      },
      // The crashed worker's leases (120 s by default) must not hold up the test: serve re-claims
      // 'answered' work at once only after the lease; the CLI's --lease override keeps this short.
      120_000,
      'the run to finish after the restart',
    );
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('close', r));

    // Every customer ends written, each once (one Last Response ID, one PUT that set it).
    expect(countWrites()).toBe(N);
    const final = new DatabaseSync(h.loaded.config.store.path, { readOnly: true });
    const states = final.prepare(`SELECT state, count(*) AS n FROM jobs WHERE run_id = ? GROUP BY state`).all(runId);
    final.close();
    expect(states).toEqual([{ state: 'written', n: N }]);
    expect(putsBefore()).toBeLessThanOrEqual(N + 8);

    // OpenAI calls per customer: at most one, except those whose call was in flight at the kill.
    const perCustomer = new Map<string, number>();
    for (const r of h.emulators.openai.emulator.requests()) {
      const m = /BULK-\d{6}/.exec(JSON.stringify(r.body));
      if (m && r.status === 200) perCustomer.set(m[0], (perCustomer.get(m[0]) ?? 0) + 1);
    }
    for (const ref of answeredBeforeCrash) expect(perCustomer.get(ref), `${ref} was answered before the crash`).toBe(1);
    const twice = [...perCustomer.values()].filter((n) => n > 1).length;
    expect(twice).toBeLessThanOrEqual(Math.max(inFlightAtCrash, 8));
  }, 240_000);
});
