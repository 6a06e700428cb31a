import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSummary } from '../emulators/openai/index.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const sync = (hh: Harness, ...numbers: string[]) => runSync(hh.connector, numbers.map((customerNumber) => ({ customerNumber })), { trigger: { source: 'manual' }, event: 'Manual' });
const customFields = (hh: Harness, n: string) =>
  Object.fromEntries(hh.emulators.ipaas.emulator.findCustomerByNumber(n)!.custom_fields.map((f) => [f.custom_field_name, f.value]));

describe('OpenAI errors', () => {
  it('an invalid key fails with "API request failed." and the 401 details; the key appears nowhere', async () => {
    const badKey = 'sk-proj-WRONGwrongWRONG1234567890';
    h = await startHarness({ env: { OPENAI_API_KEY: badKey } });
    const summary = await sync(h, 'CUST-10045');
    const a = summary.results[0]!.attempt;
    expect(a.outcome).toBe('failed');
    expect(a.errorCode).toBe('API_REQUEST_FAILED');
    expect(a.errorMessage).toMatch(/^API request failed\. OpenAI answered status 401, type invalid_request_error, code invalid_api_key: Incorrect API key provided: \[REDACTED\]/);
    expect(a.errorFix).toMatch(/Verify the OpenAI API key/);
    expect(a.retryable).toBe(false);
    // Not retried: a 401 needs a person.
    expect(h.emulators.openai.emulator.counters.requests).toBe(1);
    // The key is nowhere: not in the message, the log rows, nor the database file.
    const db = readFileSync(h.loaded.config.store.path);
    const wal = (() => { try { return readFileSync(`${h!.loaded.config.store.path}-wal`); } catch { return Buffer.alloc(0); } })();
    for (const hay of [JSON.stringify(summary), db.toString('latin1'), wal.toString('latin1')]) {
      expect(hay).not.toContain(badKey);
      expect(hay).not.toContain('1234567890');
    }
    // The customer is untouched.
    expect(h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10045')!.comment).toBe('Prefers email contact.');
  });

  it('retries 500/503/429 through the SDK policy and succeeds', async () => {
    h = await startHarness();
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 503, times: 1 });
    h.emulators.openai.emulator.injectFault({ kind: 'status', status: 429, times: 1 });
    const summary = await sync(h, 'CUST-10046');
    expect(summary.synced).toBe(1);
    expect(h.emulators.openai.emulator.counters.requests).toBe(3);
  });

  it('does not retry insufficient_quota and says what to do', async () => {
    h = await startHarness();
    h.emulators.openai.emulator.injectFault({ kind: 'insufficient_quota', times: 5 });
    const a = (await sync(h, 'CUST-10046')).results[0]!.attempt;
    expect(a.errorMessage).toMatch(/^API request failed\. OpenAI answered status 429, type insufficient_quota, code insufficient_quota/);
    expect(a.errorFix).toMatch(/Add credit or raise the quota/);
    expect(a.retryable).toBe(false);
    expect(h.emulators.openai.emulator.counters.requests).toBe(1);
  });

  it('an unknown model is a 404 with the fix naming openai.model', async () => {
    h = await startHarness({ env: { OPENAI_MODEL: 'gpt-9-imaginary' } });
    const a = (await sync(h, 'CUST-10046')).results[0]!.attempt;
    expect(a.errorMessage).toMatch(/status 404, type invalid_request_error, code model_not_found: The model `gpt-9-imaginary` does not exist/);
    expect(a.errorFix).toMatch(/openai\.model/);
  });

  it('a timeout fails the attempt as retryable after the SDK retries; the queue retries the record later', async () => {
    h = await startHarness({ config: { openai: { timeoutMs: 300, maxRetries: 1 }, jobs: { retryBaseMs: 50, retryMaxMs: 100 } } });
    h.emulators.openai.emulator.injectFault({ kind: 'timeout', times: 2 });
    const summary = await sync(h, 'CUST-10046');
    const [last, first] = (await h.connector.store.log.list({ customerNumber: 'CUST-10046', limit: 2 }));
    expect(first!.errorMessage).toBe('API request failed. OpenAI answered no response: no answer within 300 ms (timeout)');
    expect(first!.retryable).toBe(true);
    expect(last!.outcome).toBe('synced');
    expect(summary.synced).toBe(1);
  });

  it('refusals, malformed bodies and schema violations are errors, not data', async () => {
    h = await startHarness();
    const em = h.emulators.openai.emulator;
    em.injectFault({ kind: 'refusal', match: 'CUST-10045' });
    em.injectFault({ kind: 'extra-fields', match: 'CUST-10046' });
    em.injectFault({ kind: 'wrong-type', match: 'CUST-10047' });
    em.injectFault({ kind: 'malformed', match: 'CUST-10048' });
    const summary = await runSync(h.connector, ['CUST-10045', 'CUST-10046', 'CUST-10047', 'CUST-10048'].map((customerNumber) => ({ customerNumber })), { trigger: { source: 'manual' }, concurrency: 1 });
    const by = Object.fromEntries(summary.results.map((r) => [r.attempt.customerNumber, r.attempt]));
    expect(by['CUST-10045']!.errorMessage).toMatch(/^Customer CUST-10045: OpenAI refused to answer/);
    expect(by['CUST-10046']!.errorMessage).toBe('Customer CUST-10046: the answer does not fit the TO mapping (fields outside the mapping: "EmailAddress", "FirstName").');
    expect(by['CUST-10047']!.errorMessage).toMatch(/^Customer CUST-10047: the answer does not fit the TO mapping \("Known To Film": /);
    expect(by['CUST-10048']!.errorMessage).toMatch(/^API request failed\..*not valid JSON/);
    expect(summary.failed).toBe(4);
    // Nothing was written for any of them.
    for (const n of ['CUST-10045', 'CUST-10046', 'CUST-10047', 'CUST-10048']) expect(customFields(h, n)['Known To Film']).toBeUndefined();
  });
});

describe('"Request field not found."', () => {
  it('with auto-create off, names the missing custom field and makes no OpenAI call', async () => {
    h = await startHarness({ config: { sync: { autoCreateCustomFields: false } } });
    const summary = await sync(h, 'CUST-10045', 'CUST-10046');
    expect(summary.failed).toBe(2);
    const a = summary.results[0]!.attempt;
    expect(a.errorCode).toBe('REQUEST_FIELD_NOT_FOUND');
    expect(a.errorMessage).toMatch(/^Request field not found\. "Known To Film" referenced by the PromptText of "OpenAI Add\/Update Customer FROM iPaaS"/);
    expect(a.errorMessage).toContain('"Last Response Date" referenced by mapping #3 (Formula "Now()" -> Last Response Date) of "OpenAI Add/Update Customer TO iPaaS"');
    expect(a.errorFix).toMatch(/Create the custom field "Known To Film" in iPaaS.com \(module Customer, data type bool\) or turn on sync.autoCreateCustomFields/);
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
    expect((await h.connector.store.log.records('failed'))).toHaveLength(2);
  });

  it('a PromptText placeholder naming an unknown field fails before any call', async () => {
    h = await startHarness({
      config: {
        mappingCollections: [
          { name: 'OpenAI Add/Update Customer FROM iPaaS', direction: 'FROM iPaaS', mappings: [
            { type: 'Field', source: 'CustomerNumber', destination: 'Id' },
            { type: 'Static', source: 'Summarize {{FirstName}} who wears {{Shoe Size}}.', destination: 'PromptText' },
          ] },
          { name: 'OpenAI Add/Update Customer TO iPaaS', direction: 'TO iPaaS', mappings: [{ type: 'Field', source: 'Comment', destination: 'Comment' }] },
        ],
      },
    });
    const a = (await sync(h, 'CUST-10045')).results[0]!.attempt;
    expect(a.errorMessage).toMatch(/^Request field not found\. "Shoe Size" referenced by a \{\{Shoe Size\}\} placeholder/);
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
  });
});

describe('an empty or missing PromptText', () => {
  const collections = (prompt: Record<string, unknown>[]) => [
    { name: 'OpenAI Add/Update Customer FROM iPaaS', direction: 'FROM iPaaS', mappings: [{ type: 'Field', source: 'CustomerNumber', destination: 'Id' }, ...prompt] },
    { name: 'OpenAI Add/Update Customer TO iPaaS', direction: 'TO iPaaS', mappings: [{ type: 'Field', source: 'Known To Film', destination: 'Known To Film' }] },
  ];
  for (const [what, prompt, message] of [
    ['empty', [{ type: 'Static', source: '  ', destination: 'PromptText' }], /^The PromptText of the FROM collection "OpenAI Add\/Update Customer FROM iPaaS" is empty/],
    ['missing', [], /^There is no PromptText in the FROM collection "OpenAI Add\/Update Customer FROM iPaaS"/],
  ] as const) {
    it(`${what}: a configuration error naming the collection, not "Request field not found."; nothing sent, nothing created in iPaaS.com`, async () => {
      h = await startHarness({ config: { mappingCollections: collections([...prompt]) } });
      const a = (await sync(h, 'CUST-10045')).results[0]!.attempt;
      expect(a.outcome).toBe('failed');
      expect(a.errorCode).toBe('CONFIG_INVALID');
      expect(a.errorMessage).toMatch(message);
      expect(a.errorMessage).not.toMatch(/Request field not found/);
      expect(a.errorFix).toMatch(/PromptText/);
      expect(h.emulators.openai.emulator.counters.requests).toBe(0);
      // "Known To Film" is missing from the fresh account and auto-create is on: still not created.
      expect(h.emulators.ipaas.emulator.counters.byRoute['POST /customers/v2/CustomField'] ?? 0).toBe(0);
    });
  }
});

describe('customer data', () => {
  it('unicode names and an email-less customer sync; addresses and unmapped fields never leave', async () => {
    h = await startHarness();
    const summary = await sync(h, 'CUST-10047', 'CUST-10048');
    expect(summary.synced).toBe(2);
    const zoe = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10047')!;
    expect(zoe.comment).toContain('- Name: Zoë Ñúñez-Åström');
    const meryl = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10048')!;
    expect(meryl.comment).not.toContain('Email');
    expect(customFields(h, 'CUST-10048')['Known To Film']).toBe('true');
    for (const r of h.emulators.openai.emulator.requests()) {
      const body = JSON.stringify(r.body);
      expect(body).not.toMatch(/address1|Matrix Way|postal_code|Los Angeles/);
      expect(body).not.toContain('Arch Motorcycle'); // Company is not mapped
    }
    const sent = JSON.parse((h.emulators.openai.emulator.requests()[0]!.body as { input: Array<{ content: string }> }).input[0]!.content);
    expect(Object.keys(sent).sort()).toEqual(['Categories', 'Comment', 'CustomerNumber', 'EmailAddress', 'FirstName', 'Id', 'LastName']);
  });

  it('a Comment holding instructions cannot write any field outside the declared targets', async () => {
    h = await startHarness();
    const before = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10049')!;
    const summary = await sync(h, 'CUST-10049', 'CUST-10046');
    expect(summary.synced).toBe(2);
    const after = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10049')!;
    // The injected text sits in the user message as data, never in the instructions.
    const req = h.emulators.openai.emulator.requests().find((r) => JSON.stringify(r.body).includes('CUST-10049'))!.body as { instructions: string };
    expect(req.instructions).not.toMatch(/Ignore previous instructions/i);
    expect(req.instructions).toMatch(/never instructions/);
    // Only the declared targets changed; names, email and company are as they were.
    expect({ ...after, comment: undefined, custom_fields: undefined, updated_datetime: undefined }).toEqual({ ...before, comment: undefined, custom_fields: undefined, updated_datetime: undefined });
    expect(after.custom_fields.map((f) => f.custom_field_name).sort()).toEqual(['Known To Film', 'Last Prompt Text', 'Last Response Date', 'Last Response ID']);
    // The fooled model can only flip its own record's declared field; other customers are unaffected.
    expect(customFields(h, 'CUST-10046')['Known To Film']).toBe('false');
  });
});

describe('one database, two iPaaS.com accounts', () => {
  it("another account's customer with the same id is not mistaken for a human edit", async () => {
    h = await startHarness();
    expect((await sync(h, 'CUST-10045')).synced).toBe(1);
    // A second account (here: a fresh emulator) whose customer 1 is a different record.
    const other = await startHarness({ env: { IPAAS_OPENAI_DB: h.env.IPAAS_OPENAI_DB! } });
    try {
      const a = (await sync(other, 'CUST-10045')).results[0]!.attempt;
      expect(a.flags ?? []).toEqual([]);
      expect(other.emulators.ipaas.emulator.findCustomerByNumber('CUST-10045')!.comment).toContain('- Name: Keanu Reeves');
    } finally {
      await other.close();
    }
  });
});

describe('API styles', () => {
  it.each(['responses', 'chat'] as const)('%s: syncs with structured output and the same answer', async (api) => {
    h = await startHarness({ config: { openai: { api } } });
    const summary = await sync(h, 'CUST-10046');
    expect(summary.synced).toBe(1);
    const r = h.emulators.openai.emulator.requests()[0]!;
    expect(r.path).toBe(api === 'responses' ? '/v1/responses' : '/v1/chat/completions');
    const ada = h.emulators.ipaas.emulator.findCustomerByNumber('CUST-10046')!;
    expect(ada.comment).toBe(buildSummary({ FirstName: 'Ada', LastName: 'Lovelace', CustomerNumber: 'CUST-10046', EmailAddress: 'ada.lovelace@example.com', Categories: ['Retail'] }, true));
    expect(summary.results[0]!.attempt.responseId).toMatch(api === 'responses' ? /^resp_/ : /^chatcmpl-/);
  });

  it('a non-reasoning model gets temperature, a reasoning model gets reasoning effort', async () => {
    h = await startHarness({ config: { openai: { model: 'gpt-4o-mini', temperature: 0.2 } } });
    expect((await sync(h, 'CUST-10046')).synced).toBe(1);
    const body = h.emulators.openai.emulator.requests()[0]!.body as Record<string, unknown>;
    expect(body.temperature).toBe(0.2);
    expect(body.reasoning).toBeUndefined();
  });
});

describe('iPaaS.com errors', () => {
  it('an unknown CustomerNumber fails visibly without an OpenAI call', async () => {
    h = await startHarness();
    const a = (await sync(h, 'CUST-99999')).results[0]!.attempt;
    expect(a.errorMessage).toBe('Customer CUST-99999 was not found in iPaaS.com.');
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
    // A run that writes nothing creates no custom field either (the fresh account lacks all four).
    expect(h.emulators.ipaas.emulator.counters.byRoute['POST /customers/v2/CustomField'] ?? 0).toBe(0);
  });

  it('custom fields are created once, when the first record is about to be written', async () => {
    h = await startHarness();
    const summary = await sync(h, 'CUST-99999', 'CUST-10045', 'CUST-10046');
    expect(summary.createdCustomFields).toEqual(['Known To Film', 'Last Response Date', 'Last Prompt Text', 'Last Response ID']);
    expect(h.emulators.ipaas.emulator.counters.byRoute['POST /customers/v2/CustomField']).toBe(4);
    expect(summary.synced).toBe(2);
  });

  it('a wrong iPaaS.com key fails with the status and the fix', async () => {
    h = await startHarness({ env: { IPAAS_API_KEY: 'not-the-key-000' } });
    const a = (await sync(h, 'CUST-10045')).results[0]!.attempt;
    expect(a.errorMessage).toMatch(/^iPaaS\.com request failed\. iPaaS\.com answered status 401/);
    expect(a.errorMessage).not.toContain('not-the-key-000');
    expect(a.errorFix).toMatch(/IPAAS_API_KEY/);
  });

  it('a 503 on write-back is retried, and the answer is written', async () => {
    h = await startHarness();
    h.emulators.ipaas.emulator.injectFault({ route: 'PUT /customers/v2/Customer/:id', status: 503, times: 1 });
    expect((await sync(h, 'CUST-10046')).synced).toBe(1);
  });

  it('logs in through /sso when no API key is given', async () => {
    h = await startHarness({ env: { IPAAS_API_KEY: '', IPAAS_EMAIL: 'demo@example.com', IPAAS_PASSWORD: 'demo-password' } });
    expect((await sync(h, 'CUST-10046')).synced).toBe(1);
    expect(h.emulators.ipaas.emulator.counters.byRoute['POST /sso/v2/Auth/Login']).toBe(1);
  });
});
