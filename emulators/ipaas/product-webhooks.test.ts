/**
 * Products beside customers: outbound webhooks product/created and product/updated (API writes
 * included: the connector's own echo), counters by route, and faults aimed at product routes over the
 * control API.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS } from '../sample-products.js';
import { createIpaasEmulator, type IpaasEmulator, type IpaasErrorBody, type IpaasWebhookJson } from './index.js';
import { call, startWebhookReceiver, type WebhookReceiver } from './testing.js';

let emu: IpaasEmulator;
let base: string;
const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await emu.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function setup() {
  emu = createIpaasEmulator({
    products: SAMPLE_PRODUCTS,
    customFields: [{ name: 'OpenAI Response Season', module: 'Product', data_type: 'string' }],
  });
  base = await emu.start();
}

async function receiver() {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

async function subscribe(scope: string, url: string) {
  const r = await call<IpaasWebhookJson>(base, 'POST', '/hookapi/v2/Webhook', { body: { scope, destination_url: url, webhook_api_key: 'hook-key' } });
  expect(r.status).toBe(201);
  return r.body;
}

describe('product webhooks', () => {
  it('fire product/created and product/updated (API writes and UI edits) with type Product', async () => {
    await setup();
    const rx = await receiver();
    await subscribe('product/created', rx.url);
    await subscribe('product/updated', rx.url);
    await subscribe('customer/updated', rx.url); // a customer hook never hears of products

    const created = await call(base, 'POST', '/products/v2/Product', { body: { sku: 'PROD-NEW-1', name: 'Rain Shell' } });
    expect(created.status).toBe(201);
    const [first] = await rx.waitFor(1);
    expect(first?.body).toEqual({
      id: 1,
      attempt: 1,
      notifications: [{
        action: 'created', id: '5', external_id: null, destination: null, scope: 'product/created', type: 'Product',
        tracking_guid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }],
    });
    expect(first?.headers['authorization']).toBe('Bearer hook-key');

    // the connector's own write echoes back as product/updated, as a person's edit does
    await call(base, 'PUT', '/products/v2/Product/1', { body: { custom_fields: [{ custom_field_name: 'OpenAI Response Season', value: 'Winter' }] } });
    emu.humanUpdateProduct(2, { description: 'Edited in the UI.' });
    await rx.waitFor(3);
    await emu.flushWebhooks();
    const later = rx.received.slice(1).map((d) => d.body.notifications[0]).sort((x, y) => Number(x?.id) - Number(y?.id));
    expect(later.map((n) => [n?.action, n?.id, n?.scope, n?.type])).toEqual([
      ['updated', '1', 'product/updated', 'Product'],
      ['updated', '2', 'product/updated', 'Product'],
    ]);
    expect(emu.webhookDeliveries()).toEqual([
      expect.objectContaining({ delivery_id: 1, scope: 'product/created', type: 'Product', record_id: 5, product_id: 5, ok: true }),
      expect.objectContaining({ delivery_id: 2, scope: 'product/updated', type: 'Product', record_id: 1, product_id: 1, ok: true }),
      expect.objectContaining({ delivery_id: 3, scope: 'product/updated', type: 'Product', record_id: 2, product_id: 2, ok: true }),
    ]);
    expect(emu.webhookDeliveries().every((d) => d.customer_id === undefined)).toBe(true);
    expect(rx.received).toHaveLength(3);
  });

  it('match /debug scopes; a failed write sends nothing; customer events still say Customer', async () => {
    emu = createIpaasEmulator({ products: SAMPLE_PRODUCTS, customers: [{ customer_number: 'C-1', first_name: 'A', last_name: 'B', email_address: null }] });
    base = await emu.start();
    const rx = await receiver();
    await subscribe('product/updated/debug', rx.url);
    await subscribe('customer/updated', rx.url);
    expect((await call(base, 'PUT', '/products/v2/Product/1', { body: { name: '' } })).status).toBe(400);
    await call(base, 'PUT', '/products/v2/Product/3', { body: { default_price: 30 } });
    emu.humanUpdate(1, { comment: 'x' });
    await rx.waitFor(2);
    await emu.flushWebhooks();
    const notes = rx.received.map((d) => d.body.notifications[0]).sort((x, y) => String(x?.type).localeCompare(String(y?.type)));
    expect(notes.map((n) => [n?.type, n?.id, n?.scope])).toEqual([
      ['Customer', '1', 'customer/updated'],
      ['Product', '3', 'product/updated/debug'],
    ]);
    expect(emu.webhookDeliveries().find((d) => d.type === 'Customer')).toMatchObject({ record_id: 1, customer_id: 1 });
  });

  it('subscriptions accept product scopes and refuse unknown entities', async () => {
    await setup();
    await subscribe('product/deleted', 'http://127.0.0.1:9/h');
    const bad = await call<IpaasErrorBody>(base, 'POST', '/hookapi/v2/Webhook', {
      body: { scope: 'order/created', destination_url: 'http://127.0.0.1:9/h', webhook_api_key: 'k' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]?.message).toBe(
      "Scope 'order/created' is not valid; expected customer/ or product/ followed by created, updated or deleted, optionally with /debug.",
    );
  });
});

describe('product routes in counters and faults', () => {
  const control = (method: string, path: string, body?: unknown) => call(base, method, `/__emulator/${path}`, body === undefined ? {} : { body });

  it('counts product routes, reads and writes', async () => {
    await setup();
    await call(base, 'GET', '/products/v2/Product/1');
    await call(base, 'GET', '/products/v2/Product/99');
    await call(base, 'GET', '/products/v2/Products?pageSize=2');
    await call(base, 'POST', '/products/v2/Product', { body: { name: 'New' } });
    await call(base, 'PUT', '/products/v2/Product/1', { body: { default_price: 1 } });
    await call(base, 'GET', '/products/v2/CustomFields');
    emu.humanUpdateProduct(1, { name: 'UI' }); // not an API request: not counted
    expect((await control('GET', 'counters')).body).toEqual({
      requests: 6,
      byRoute: {
        'GET /products/v2/Product/:id': 2,
        'GET /products/v2/Products': 1,
        'POST /products/v2/Product': 1,
        'PUT /products/v2/Product/:id': 1,
        'GET /products/v2/CustomFields': 1,
      },
      byStatus: { '200': 4, '201': 1, '404': 1 },
      customerReads: 0,
      customerWrites: 0,
      productReads: 2,
      productWrites: 2,
      webhookDeliveries: 0,
    });
  });

  it('the control API takes product routes for faults and they hit only those routes', async () => {
    await setup();
    const posted = await control('POST', 'faults', { route: 'put /products/v2/product/:id', status: 503, times: 2, retryAfterSeconds: 4 });
    expect(posted.status).toBe(201);
    expect(posted.body).toEqual({ fault: { route: 'PUT /products/v2/Product/:id', status: 503, times: 2, retryAfterSeconds: 4 }, remaining: 2 });
    expect((await control('POST', 'faults', { route: 'GET /products/v2/CustomFields', kind: 'timeout' })).status).toBe(201);
    expect((await control('POST', 'faults', { route: 'POST /products/v2/CustomField', status: 500 })).status).toBe(201);
    expect((await call(base, 'GET', '/products/v2/Product/1')).status).toBe(200);
    const hit = await call<IpaasErrorBody>(base, 'PUT', '/products/v2/Product/1', { body: { name: 'x' } });
    expect(hit.status).toBe(503);
    expect(hit.headers.get('retry-after')).toBe('4');
    expect(hit.body).toMatchObject({ status: 503, title: 'Service Unavailable' });
    expect((await call(base, 'PUT', '/products/v2/Product/1', { body: { name: 'x' } })).status).toBe(503);
    expect((await call(base, 'PUT', '/products/v2/Product/1', { body: { name: 'x' } })).status).toBe(200);
    expect(emu.getProduct(1)?.name).toBe('x');
    const unknown = await control('POST', 'faults', { route: 'GET /products/v2/Nope', status: 500 });
    expect(unknown.status).toBe(400);
    expect((unknown.body as IpaasErrorBody).message).toContain('GET /products/v2/Products');
  });
});
