import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { prepareMappings } from '../src/pipeline/prepare-mappings.js';
import { startServiceHarness, type ServiceHarness } from './helpers/service-harness.js';

const customers = syntheticCustomers(4, 'CFDEL');
const numbers = customers.map((c) => c.customer_number);

/** A custom field deleted in iPaaS.com while `serve` runs (D6). */
describe('a custom field deleted in iPaaS.com while the service runs', () => {
  let h: ServiceHarness;
  afterEach(async () => h?.close());

  async function syncAndWait(customerNumbers: string[]) {
    const r = await h.api('POST', '/api/sync', { customerNumbers });
    expect(r.status).toBe(202);
    await h.idle(20_000);
    return (await h.api('GET', r.body.statusUrl)).body;
  }

  it('auto-create on: the refused write-back checks the definitions again, recreates the field and writes without a new call', async () => {
    h = await startServiceHarness({ webhooks: false, ipaas: { customers } });
    const em = h.emulators;
    expect((await syncAndWait([numbers[0]!])).counts.written).toBe(1); // the plan is checked and cached
    em.ipaas.emulator.deleteCustomField('Known To Film');
    const calls = em.openai.emulator.counters.completions;

    const run = await syncAndWait([numbers[1]!]);
    expect(run.counts.written).toBe(1);
    expect(em.openai.emulator.counters.completions).toBe(calls + 1); // one call, not one per write try
    const names = (await fetch(`${em.ipaas.url}/customers/v2/CustomFields?module=Customer`, { headers: { authorization: `Bearer ${em.ipaas.apiKey}` } }).then((r) => r.json())) as Array<{ name: string }>;
    expect(names.map((f) => f.name.toLowerCase())).toContain('known to film');
  });

  it('auto-create off: the job fails with "Request field not found." naming the field, and later records fail before any OpenAI call', async () => {
    h = await startServiceHarness({ webhooks: false, ipaas: { customers }, config: { sync: { autoCreateCustomFields: false } } });
    const em = h.emulators;
    // The fields exist at the start (made as the subscription would make them); then one is deleted.
    const config = h.loaded.config;
    await prepareMappings({ ...config, sync: { ...config.sync, autoCreateCustomFields: true } }, h.connector.ipaas);
    expect((await syncAndWait([numbers[0]!])).counts.written).toBe(1);
    em.ipaas.emulator.deleteCustomField('Known To Film');

    const first = await syncAndWait([numbers[1]!]);
    expect(first.counts.failed).toBe(1);
    const job = first.jobs[0];
    expect(job.lastErrorCode).toBe('REQUEST_FIELD_NOT_FOUND');
    expect(job.lastError).toContain('Request field not found.');
    expect(job.lastError).toContain('Known To Film');

    const calls = em.openai.emulator.counters.completions;
    const later = await syncAndWait([numbers[2]!, numbers[3]!]);
    expect(later.counts.failed).toBe(2);
    expect(em.openai.emulator.counters.completions).toBe(calls); // nothing more paid for
  });
});
