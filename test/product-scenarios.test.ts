/**
 * The seed's three test scenarios rewritten for a Product ("OpenAI Add/Update Product FROM/TO iPaaS"),
 * over real HTTP against both emulators, on the same engine as customers: a product with a SKU syncs
 * and the four "OpenAI ..." custom fields are read back; a product without a SKU fails unsent; the
 * response reaches the TO mapping. Then the same engine's triggers for products: by iPaaS.com id, the
 * product webhooks through the service, a backfill, and ids shared by a customer and a product.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PRODUCT } from '../src/ipaas/entities.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { call } from '../emulators/ipaas/testing.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { startServiceHarness, waitFor, WEBHOOK_KEY, type ServiceHarness } from './helpers/service-harness.js';

let h: Harness | ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const FIELDS = ['OpenAI Response Season', 'OpenAI Last Response Date', 'OpenAI Last Response ID', 'OpenAI Last Prompt Text'];
const syncProducts = (hh: Harness, ...skus: string[]) => runSync(hh.connector, skus.map((customerNumber) => ({ entity: 'product' as const, customerNumber })), { trigger: { source: 'manual' } });
const product = (hh: Harness, sku: string) => hh.emulators.ipaas.emulator.findProductBySku(sku)!;
const productFields = (hh: Harness, sku: string) => Object.fromEntries(product(hh, sku).custom_fields.map((f) => [f.custom_field_name, f.value]));

describe('the seed scenarios for a product', () => {
  it('Scenario 1: a product with a valid SKU syncs; the four OpenAI custom fields are populated and read back through the API', async () => {
    h = await startHarness();
    const s = await syncProducts(h, 'PROD-SKU-12345');
    expect(s).toMatchObject({ synced: 1, failed: 0 });
    const a = s.results[0]!.attempt;
    // The SKU is the OpenAI request's Id, and only mapped fields are sent.
    const data = JSON.parse(((a.request as { input: Array<{ content: string }> }).input[0]!).content);
    expect(data).toEqual({ Id: 'PROD-SKU-12345', Name: 'Winter Parka', Description: expect.stringMatching(/^Insulated, waterproof parka/), DefaultPrice: 249.99 });
    expect(a.customerNumber).toBe('PROD-SKU-12345');
    expect(a.trigger).toBe('manual@product');

    const back = await h.connector.ipaas.findByNumber(PRODUCT, 'PROD-SKU-12345');
    expect(Object.keys(back!.customFields).sort()).toEqual([...FIELDS].sort());
    expect(back!.customFields['OpenAI Last Response ID']).toBe(a.responseId);
    expect(back!.customFields['OpenAI Last Prompt Text']).toMatch(/^Decide in which season this product sells best/);
    expect(Date.parse(back!.customFields['OpenAI Last Response Date']!)).toBeGreaterThan(Date.now() - 60_000);
    // Created in the Product module, not the Customer one.
    const defs = await h.connector.ipaas.listCustomFields(PRODUCT);
    expect(defs.map((d) => d.name).sort()).toEqual([...FIELDS].sort());
    expect((await h.connector.ipaas.listCustomFields()).map((d) => d.name)).not.toContain('OpenAI Response Season');
  });

  it('Scenario 2: a product without a SKU fails with a clear error and is never sent', async () => {
    h = await startHarness();
    const unlabelled = h.emulators.ipaas.emulator.listProducts().find((p) => p.sku === null)!;
    const r = await runCli(['sync', '--entity', 'product', '--id', String(unlabelled.id)], { cwd: h.dir, env: h.env });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`✖ id ${unlabelled.id} failed: Product id ${unlabelled.id} (Unlabelled Sample) has no SKU, so it cannot be sent to OpenAI: the SKU is the OpenAI request's Id.`);
    expect(r.stdout).toMatch(new RegExp(`Fix: Fill in the SKU of this product in iPaaS\\.com, then re-run the transfer \\(by its iPaaS\\.com id: \`ipaas-openai sync --entity product --id ${unlabelled.id}\`\\)`));
    expect(h.emulators.openai.emulator.counters.completions).toBe(0);
  });

  it('Scenario 3: the response reaches the TO mapping and the product', async () => {
    h = await startHarness();
    const a = (await syncProducts(h, 'PROD-SKU-12347')).results[0]!.attempt;
    const answer = a.answer as Record<string, string>;
    expect(Object.keys(answer)).toEqual(['OpenAI Response Season']);
    expect(productFields(h, 'PROD-SKU-12347')['OpenAI Response Season']).toBe(answer['OpenAI Response Season']);
    expect((a.writes as Array<{ field: string }>).map((w) => w.field)).toEqual(FIELDS);
    // Nothing of a customer changed.
    expect(h.emulators.ipaas.emulator.counters.byRoute['PUT /customers/v2/Customer/:id'] ?? 0).toBe(0);
  });
});

describe('products on the same engine', () => {
  it('an unknown SKU says what to check; preview and validate take --entity product', async () => {
    h = await startHarness();
    const nope = await runCli(['sync', '--entity', 'product', 'PROD-NOPE'], { cwd: h.dir, env: h.env });
    expect(nope.code).toBe(1);
    expect(nope.stdout).toMatch(/Product PROD-NOPE was not found in iPaaS\.com\.\n\s+Fix: Check the SKU \(it is matched exactly\) or sync by iPaaS\.com id with --id --entity product\./);
    const preview = await runCli(['preview', '--entity', 'product', 'PROD-SKU-12346'], { cwd: h.dir, env: h.env });
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/Preview for PROD-SKU-12346/);
    expect(preview.stdout).toContain('Would write: OpenAI Response Season, OpenAI Last Response Date, OpenAI Last Response ID, OpenAI Last Prompt Text');
    const validate = await runCli(['validate', '--entity', 'product'], { cwd: h.dir, env: h.env });
    expect(validate.stdout).toMatch(/✖ SKU is populated for all records to be synced\.\n\s+1 of 4 products lack a SKU: id \d+ \(Unlabelled Sample\)/);
  });

  it('a customer and a product with the same iPaaS.com id are two records: no shared state, no one-call-per-customer clash', async () => {
    h = await startHarness();
    const [s1, s2] = await Promise.all([
      runSync(h.connector, [{ id: '1' }], { trigger: { source: 'manual' } }),
      runSync(h.connector, [{ entity: 'product', id: '1' }], { trigger: { source: 'manual' } }),
    ]);
    expect([s1.synced, s2.synced]).toEqual([1, 1]);
    expect(await h.connector.store.state.get('1')).toMatchObject({ customerNumber: 'CUST-10045' });
    expect(await h.connector.store.state.get('product:1')).toMatchObject({ customerNumber: 'PROD-SKU-12345' });
    const records = (await h.connector.store.log.records()).map((r) => r.recordKey).sort();
    expect(records).toEqual(['CUST-10045', 'product:PROD-SKU-12345']);
  });

  it('sync --all --entity product backfills every product (the one without a SKU fails unsent)', async () => {
    h = await startHarness();
    const r = await runBulk(h.connector, { params: { mode: 'direct', entity: 'product' } });
    expect(r.finished).toBe(true);
    expect(r.counts).toMatchObject({ written: 3, failed: 1 });
    expect(h.emulators.openai.emulator.counters.completions).toBe(3);
    expect(h.emulators.ipaas.emulator.counters.byRoute['PUT /customers/v2/Customer/:id'] ?? 0).toBe(0);
  });

  it('the manual-sync API takes the entity: products by SKU and by iPaaS.com id', async () => {
    const sh = await startServiceHarness({ webhooks: false });
    h = sh;
    const bad = await sh.api('POST', '/api/sync', { customerNumbers: ['PROD-SKU-12345'], entity: 'order' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/entity: give one of customer, product/);
    const r = await sh.api('POST', '/api/sync', { customerNumbers: ['PROD-SKU-12345'], ids: [product(sh, 'PROD-SKU-12346').id], entity: 'product' });
    expect(r.status).toBe(202);
    await sh.idle();
    const run = (await sh.api('GET', `/api/runs/${r.body.runId}`)).body;
    expect(run).toMatchObject({ total: 2, finished: true, counts: { written: 2 } });
    expect(productFields(sh, 'PROD-SKU-12346')['OpenAI Last Response ID']).toMatch(/^resp_/);
  });

  it('the prompt lab API takes the entity: a trial of products by SKU writes nothing', async () => {
    const sh = await startServiceHarness({ webhooks: false });
    h = sh;
    const est = await sh.api('POST', '/api/trials/estimate', { customerNumbers: ['PROD-SKU-12345'], entity: 'product' });
    expect(est.status).toBe(200);
    expect(est.body.prompts[0].text).toMatch(/^Decide in which season this product sells best/);
    const started = await sh.api('POST', '/api/trials', { customerNumbers: ['PROD-SKU-12345'], entity: 'product' });
    expect(started.status).toBe(202);
    await waitFor(async () => (await sh.api('GET', `/api/trials/${started.body.trialId}`)).body.summary?.calls === 1, 15_000, 'the trial call');
    expect(sh.emulators.ipaas.emulator.counters.byRoute['PUT /products/v2/Product/:id'] ?? 0).toBe(0);
  });

  it('product/created and product/updated webhooks sync the product through the service; our own write is an echo', async () => {
    const sh = await startServiceHarness({ webhooks: false });
    h = sh;
    for (const scope of ['product/created', 'product/updated']) {
      const res = await call(sh.emulators.ipaas.url, 'POST', '/hookapi/v2/Webhook', { body: { scope, destination_url: `${sh.service.url}/webhooks/ipaas`, webhook_api_key: WEBHOOK_KEY } });
      expect(res.status).toBe(201);
    }
    const parka = product(sh, 'PROD-SKU-12345');
    sh.emulators.ipaas.emulator.humanUpdateProduct(parka.id, { description: 'Now with a hood lined in fleece.' });
    await sh.idle();
    expect(sh.emulators.openai.emulator.counters.completions).toBe(1);
    expect(productFields(sh, 'PROD-SKU-12345')['OpenAI Last Response ID']).toMatch(/^resp_/);
    // Our own write fired product/updated again: recognised as an echo, no second call.
    const skipped = (await sh.connector.store.log.list({ outcome: 'skipped' })).filter((a) => a.trigger.startsWith('webhook'));
    expect(skipped.some((a) => /No mapped input changed/.test(a.errorMessage ?? ''))).toBe(true);
    expect(sh.emulators.openai.emulator.counters.completions).toBe(1);
  });
});
