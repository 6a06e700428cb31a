/**
 * Instances that start together on one iPaaS.com account each check the mappings and create the
 * custom fields that are missing (sync.autoCreateCustomFields). Seen in several-instances.test.ts:
 * the instance that loses the race gets a 409 "already exists" and fails every record it holds for
 * the next 5 s (the plan cache remembers the error). Here the same race, made certain: two
 * preparations in one process, as two instances' first records do.
 */
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulators, type RunningEmulators } from '../emulators/start-emulators.js';
import { ipaasFromConfig } from '../src/app/connector.js';
import { loadConfig } from '../src/config/load-config.js';
import { prepareMappings } from '../src/pipeline/prepare-mappings.js';
import { CUSTOMER } from '../src/ipaas/entities.js';

let emu: RunningEmulators | undefined;
beforeAll(async () => {
  emu = await startEmulators({ ipaas: true, openai: false });
});
afterAll(async () => emu?.close());

describe('two instances creating the missing custom fields at once', () => {
  it('both preparations succeed and each field exists once (the loser of the race finds the field made by the other)', async () => {
    const loaded = loadConfig({ env: { IPAAS_BASE_URL: emu!.ipaas!.url, IPAAS_API_KEY: emu!.ipaas!.apiKey }, cwd: tmpdir(), overrides: { ipaas: { maxRetries: 0 } } });
    // The customer preparation creates the customer module's fields; product fields are the product run's.
    const wanted = loaded.config.customFields.filter((f) => f.module === CUSTOMER.label).map((f) => f.name.toLowerCase());
    const before = (await ipaasFromConfig(loaded).listCustomFields()).map((f) => f.name.toLowerCase());
    expect(wanted.filter((n) => !before.includes(n)).length).toBeGreaterThan(0); // there is something to create

    const results = await Promise.allSettled([prepareMappings(loaded.config, ipaasFromConfig(loaded)), prepareMappings(loaded.config, ipaasFromConfig(loaded))]);
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(errors).toEqual([]);

    const after = (await ipaasFromConfig(loaded).listCustomFields()).map((f) => f.name.toLowerCase());
    for (const n of wanted) expect(after.filter((a) => a === n), n).toHaveLength(1);
  });
});
