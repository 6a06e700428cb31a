/** A database deleted under a running serve is reported (readyz, the log), not silently written into the void. */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startServiceHarness, type ServiceHarness } from './helpers/service-harness.js';

let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the database file under a running serve', () => {
  it.each(['deleted', 'replaced'] as const)('%s: /readyz fails naming the file and the fix; it is ready again once the file is back', async (how) => {
    h = await startServiceHarness({ webhooks: false });
    const file = h.env.IPAAS_OPENAI_DB!;
    expect((await fetch(`${h.service.url}/readyz`)).status).toBe(200);
    renameSync(file, `${file}.moved`);
    if (how === 'replaced') writeFileSync(file, '');
    const res = await fetch(`${h.service.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: { store: { ok: boolean; detail: string; fix: string } } };
    expect(body.checks.store).toMatchObject({ ok: false });
    expect(body.checks.store.detail).toContain(`The database file ${file} was ${how} while the connector ran`);
    expect(body.checks.store.fix).toMatch(/restore the file from a backup/);
    if (how === 'replaced') rmSync(file);
    renameSync(`${file}.moved`, file);
    expect((await fetch(`${h.service.url}/readyz`)).status).toBe(200);
  });
});
