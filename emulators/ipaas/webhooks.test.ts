import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { createIpaasEmulator, type IpaasEmulator, type IpaasEmulatorOptions, type IpaasErrorBody, type IpaasWebhookJson } from './index.js';
import { call, startWebhookReceiver, type WebhookReceiver } from './testing.js';

let emu: IpaasEmulator | undefined;
const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await emu?.close();
  emu = undefined;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function setup(opts: IpaasEmulatorOptions = {}) {
  emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, customFields: [{ name: 'Known To Film', data_type: 'bool' }], ...opts });
  const base = await emu.start();
  return { emu, base };
}

async function receiver(respond?: (n: number) => number | Promise<number>) {
  const r = await startWebhookReceiver(respond);
  receivers.push(r);
  return r;
}

async function subscribe(base: string, scope: string, url: string, extra: Record<string, unknown> = {}) {
  const r = await call<IpaasWebhookJson>(base, 'POST', '/hookapi/v2/Webhook', {
    body: { scope, destination_url: url, webhook_api_key: 'hook-key', ...extra },
  });
  expect(r.status).toBe(201);
  return r.body;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('webhook subscriptions', () => {
  it('creates, lists (without key or secret) and deletes', async () => {
    const { base } = await setup();
    const created = await subscribe(base, 'customer/updated', 'http://127.0.0.1:9/hook', { hmac_secret: 's3cret' });
    expect(created).toEqual({ id: 1, scope: 'customer/updated', destination_url: 'http://127.0.0.1:9/hook', created_datetime: expect.any(String) });
    const list = await call<IpaasWebhookJson[]>(base, 'GET', '/hookapi/v2/Webhooks');
    expect(list.body).toEqual([created]);
    expect(JSON.stringify(list.body)).not.toMatch(/hook-key|s3cret/);
    const del = await call(base, 'DELETE', '/hookapi/v2/Webhook/1');
    expect(del.status).toBe(204);
    expect((await call(base, 'GET', '/hookapi/v2/Webhooks')).body).toEqual([]);
    expect((await call(base, 'DELETE', '/hookapi/v2/Webhook/1')).status).toBe(404);
  });

  it('validates scope, destination_url and webhook_api_key', async () => {
    const { base } = await setup();
    await subscribe(base, 'customer/created/debug', 'https://example.com/h');
    const bad = await call<IpaasErrorBody>(base, 'POST', '/hookapi/v2/Webhook', {
      body: { scope: 'customer/merged', destination_url: 'ftp://x', webhook_api_key: '' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.field)).toEqual(['scope', 'destination_url', 'webhook_api_key']);
  });
});

describe('outbound deliveries', () => {
  it('fires customer/created and customer/updated (including our own PUTs) with auth, correlation id and HMAC', async () => {
    const { emu, base } = await setup();
    const rx = await receiver();
    await subscribe(base, 'customer/created', rx.url, { hmac_secret: 'top-secret' });
    await subscribe(base, 'customer/updated', rx.url);
    await subscribe(base, 'customer/deleted', rx.url);

    const created = await call(base, 'POST', '/customers/v2/Customer', { body: { first_name: 'Tom', last_name: 'Hanks' } });
    expect(created.status).toBe(201);
    const [c] = await rx.waitFor(1);
    expect(c?.path).toBe('/webhooks/ipaas');
    expect(c?.body).toEqual({
      id: 1,
      attempt: 1,
      notifications: [{
        action: 'created', id: '7', external_id: null, destination: null, scope: 'customer/created', type: 'Customer',
        tracking_guid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      }],
    });
    expect(c?.headers['authorization']).toBe('Bearer hook-key');
    expect(c?.headers['content-type']).toBe('application/json');
    expect(c?.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    const expected = `sha256=${createHmac('sha256', 'top-secret').update(c?.rawBody ?? '').digest('hex')}`;
    expect(c?.headers['x-ipaas-signature']).toBe(expected);

    // the connector's own write echoes back as customer/updated
    await call(base, 'PUT', '/customers/v2/Customer/7', { body: { custom_fields: [{ custom_field_name: 'Known To Film', value: 'true' }] } });
    emu.humanUpdate(1, { comment: 'edited in the UI' });
    const all = await rx.waitFor(3);
    await emu.flushWebhooks();
    // Deliveries travel concurrently: their arrival order is not guaranteed (nor is it by iPaaS.com).
    const later = all.slice(1).sort((x, y) => Number(x.body.id) - Number(y.body.id));
    expect(later.map((d) => [d.body.id, d.body.notifications[0]?.action, d.body.notifications[0]?.id])).toEqual([
      [2, 'updated', '7'],
      [3, 'updated', '1'],
    ]);
    expect(later[0]?.headers['x-ipaas-signature']).toBeUndefined();
    expect(emu.webhookDeliveries()).toEqual([
      expect.objectContaining({ delivery_id: 1, attempt: 1, scope: 'customer/created', customer_id: 7, url: rx.url, status: 200, ok: true }),
      expect.objectContaining({ delivery_id: 2, attempt: 1, scope: 'customer/updated', customer_id: 7, status: 200, ok: true }),
      expect.objectContaining({ delivery_id: 3, attempt: 1, scope: 'customer/updated', customer_id: 1, status: 200, ok: true }),
    ]);
    expect(emu.counters.webhookDeliveries).toBe(3);
  });

  it('matches /debug scopes, sends nothing for failed writes or without subscribers', async () => {
    const { emu, base } = await setup();
    await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'nobody listens' } });
    const rx = await receiver();
    await subscribe(base, 'customer/updated/debug', rx.url);
    await call(base, 'POST', '/customers/v2/Customer', { body: { first_name: 'A', last_name: 'B' } }); // created: no subscriber
    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { first_name: '' } })).status).toBe(400);
    await call(base, 'PUT', '/customers/v2/Customer/2', { body: { comment: 'x' } });
    await rx.waitFor(1);
    await emu.flushWebhooks();
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]?.body.notifications[0]).toMatchObject({ action: 'updated', id: '2', scope: 'customer/updated/debug' });
  });

  it('does not delay the write response', async () => {
    const { emu, base } = await setup();
    // The receiver does not answer until the write has been answered: a write that waited for its
    // webhook would never be answered, and the test would time out.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const rx = await receiver(async () => {
      await released;
      return 200;
    });
    await subscribe(base, 'customer/updated', rx.url);
    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } })).status).toBe(200);
    release();
    await emu.flushWebhooks();
    expect(emu.webhookDeliveries()).toHaveLength(1);
  });

  it('retries failed deliveries after 10*attempt*(attempt+1) units with attempt+1 and the same body', async () => {
    const unit = 3;
    const { emu, base } = await setup({ webhookRetryUnitMs: unit });
    const rx = await receiver((n) => (n <= 2 ? 500 : 200));
    await subscribe(base, 'customer/updated', rx.url);
    emu.humanUpdate(2, { comment: 'retry me' });
    const got = await rx.waitFor(3);
    await emu.flushWebhooks();
    expect(got.map((d) => d.body.attempt)).toEqual([1, 2, 3]);
    expect(new Set(got.map((d) => d.body.id)).size).toBe(1);
    expect(new Set(got.map((d) => d.body.notifications[0]?.tracking_guid)).size).toBe(1);
    const [a, b, c] = got;
    expect((b?.at ?? 0) - (a?.at ?? 0)).toBeGreaterThanOrEqual(20 * unit - 2);
    expect((c?.at ?? 0) - (b?.at ?? 0)).toBeGreaterThanOrEqual(60 * unit - 2);
    const records = emu.webhookDeliveries();
    expect(records.map((r) => [r.attempt, r.status, r.ok])).toEqual([[1, 500, false], [2, 500, false], [3, 200, true]]);
    expect(records[0]?.error).toMatch(/500/);
    expect(records[0]?.next_attempt_at).toBeDefined();
    expect(records[2]?.next_attempt_at).toBeUndefined();
  });

  it('gives up after webhookMaxAttempts and records network errors with status null', async () => {
    const { emu, base } = await setup({ webhookRetryUnitMs: 1, webhookMaxAttempts: 3 });
    const rx = await receiver(() => 503);
    await subscribe(base, 'customer/updated', rx.url);
    await subscribe(base, 'customer/updated', 'http://127.0.0.1:1/unreachable');
    emu.humanUpdate(1, { comment: 'x' });
    await rx.waitFor(3);
    await sleep(150); // past the would-be 4th attempt (10*3*4 = 120 units)
    await emu.flushWebhooks();
    expect(rx.received.map((d) => d.body.attempt)).toEqual([1, 2, 3]);
    const dead = emu.webhookDeliveries().filter((r) => r.url.includes('unreachable'));
    expect(dead.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(dead.every((r) => r.status === null && r.ok === false && typeof r.error === 'string')).toBe(true);
    expect(emu.counters.webhookDeliveries).toBe(6);
  });

  it('close() cancels pending retries', async () => {
    const { emu, base } = await setup({ webhookRetryUnitMs: 5 }); // first retry after 100 ms
    const rx = await receiver(() => 500);
    await subscribe(base, 'customer/updated', rx.url);
    emu.humanUpdate(1, { comment: 'x' });
    await rx.waitFor(1);
    await emu.flushWebhooks();
    await emu.close();
    await sleep(200);
    expect(rx.received).toHaveLength(1);
    expect(emu.webhookDeliveries()).toHaveLength(1);
  });
});
