import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CUSTOMER } from '../src/ipaas/entities.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { startHarness, type Harness } from './helpers/harness.js';

/** The seed article's three test scenarios, by name, over real HTTP against both emulators. */
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const KEANU_SUMMARY = [
  '- Name: Keanu Reeves',
  '- Customer number: CUST-10045',
  '- Email: keanu.reeves@example.com',
  '- Categories: VIP, Wholesale',
  '- Known to film: yes',
].join('\n');

describe('Scenario 1: Valid Customer Sync', () => {
  it('processes a complete customer through OpenAI and populates the response fields', async () => {
    const summary = await runSync(h.connector, [{ customerNumber: 'CUST-10045' }, { customerNumber: 'CUST-10046' }], { trigger: { source: 'manual' }, event: 'Manual' });
    expect(summary).toMatchObject({ synced: 2, failed: 0, skipped: 0 });
    expect(summary.createdCustomFields.sort()).toEqual(['Known To Film', 'Last Prompt Text', 'Last Response Date', 'Last Response ID']);

    const keanu = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10045')!;
    expect(keanu.comment).toBe(KEANU_SUMMARY);
    const cf = Object.fromEntries(keanu.custom_fields.map((f) => [f.custom_field_name, f.value]));
    expect(cf['Known To Film']).toBe('true');
    const ada = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10046')!;
    expect(Object.fromEntries(ada.custom_fields.map((f) => [f.custom_field_name, f.value]))['Known To Film']).toBe('false');
    expect(h.emulators.openai.emulator.counters.completions).toBe(2);
  });
});

describe('Scenario 2: Missing CustomerNumber (Failure Case)', () => {
  it('fails with a clear error and never calls OpenAI', async () => {
    const nora = h.emulators.ipaas.emulator.listCustomers().find((c) => c.customer_number === null)!;
    const summary = await runSync(h.connector, [{ id: String(nora.id) }], { trigger: { source: 'manual' }, event: 'Manual' });
    expect(summary).toMatchObject({ synced: 0, failed: 1 });
    const a = summary.results[0]!.attempt;
    expect(a.errorCode).toBe('MISSING_CUSTOMER_NUMBER');
    expect(a.errorMessage).toBe(`Customer id ${nora.id} (Nora Numberless) has no CustomerNumber, so it cannot be sent to OpenAI: the CustomerNumber is the OpenAI request's Id.`);
    expect(a.errorFix).toMatch(/Fill in the Customer Number .* re-run the transfer/);
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
    // The failure is visible and retryable from the log.
    expect((await h.connector.store.log.records('failed')).map((r) => r.recordKey)).toEqual([`id:${nora.id}`]);
  });
});

describe('Scenario 3: Prompt Request Verification', () => {
  it('returns the OpenAI response to the TO flow and the customer in iPaaS.com', async () => {
    const summary = await runSync(h.connector, [{ customerNumber: 'CUST-10045' }], { trigger: { source: 'manual' }, event: 'Manual' });
    const a = summary.results[0]!.attempt;
    // What was sent: PromptText as instructions, the customer as JSON data with Id = CustomerNumber.
    const req = a.request as { instructions: string; input: Array<{ content: string }> };
    expect(req.instructions.startsWith('Write a short, bulleted summary of this customer profile')).toBe(true);
    expect(JSON.parse(req.input[0]!.content)).toMatchObject({ Id: 'CUST-10045', CustomerNumber: 'CUST-10045', FirstName: 'Keanu' });
    const seen = h.emulators.openai.emulator.requests().at(-1)!;
    expect(seen.body).toEqual(a.request);

    // What came back reached the TO mapping ...
    expect(a.answer).toEqual({ Comment: KEANU_SUMMARY, 'Known To Film': 'TRUE' });
    expect(a.responseId).toMatch(/^resp_/);
    expect(a.inputTokens).toBeGreaterThan(100);
    expect(a.costUsd).toBeGreaterThan(0);

    // ... and the customer, read back through the iPaaS.com API (the product's own client).
    const back = await h.connector.ipaas.findByNumber(CUSTOMER, 'CUST-10045');
    expect(back?.fields.Comment).toBe(KEANU_SUMMARY);
    expect(back?.customFields).toMatchObject({
      'Known To Film': 'true',
      'Last Response ID': a.responseId,
      'Last Prompt Text': (a.request as { instructions: string }).instructions.split('\n\n')[0],
    });
    expect(Date.parse(back!.customFields['Last Response Date']!)).toBeGreaterThan(Date.now() - 60_000);
    expect(a.writes).toEqual(expect.arrayContaining([{ field: 'Comment', before: 'Prefers email contact.', after: KEANU_SUMMARY }]));
  });
});
