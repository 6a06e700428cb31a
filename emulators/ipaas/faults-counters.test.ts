import { afterEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { createIpaasEmulator, type IpaasEmulator, type IpaasEmulatorOptions, type IpaasErrorBody } from './index.js';
import { call } from './testing.js';

let emu: IpaasEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function setup(opts: IpaasEmulatorOptions = {}) {
  emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, ...opts });
  const base = await emu.start();
  return { emu, base };
}

describe('counters', () => {
  it('counts requests by route and status, customer reads and writes; resetCounters zeroes them', async () => {
    const { emu, base } = await setup();
    await call(base, 'GET', '/customers/v2/Customer/1');
    await call(base, 'GET', '/customers/v2/Customer/2');
    await call(base, 'GET', '/customers/v2/Customer/99');
    await call(base, 'GET', '/customers/v2/Customers?action=equals&CustomerNumber=CUST-10045');
    await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } });
    await call(base, 'PUT', '/customers/v2/Customer/1', { body: { first_name: '' } });
    await call(base, 'POST', '/customers/v2/Customer', { body: { first_name: 'A', last_name: 'B' } });
    await call(base, 'GET', '/customers/v2/Customer/1', { token: 'bad' });
    await call(base, 'GET', '/nowhere');
    emu.humanUpdate(1, { comment: 'human' }); // not an API request: not counted
    expect(emu.counters).toEqual({
      requests: 9,
      byRoute: {
        'GET /customers/v2/Customer/:id': 4,
        'GET /customers/v2/Customers': 1,
        'PUT /customers/v2/Customer/:id': 2,
        'POST /customers/v2/Customer': 1,
        'GET <unmatched>': 1,
      },
      byStatus: { '200': 4, '201': 1, '400': 1, '401': 1, '404': 2 },
      customerReads: 3,
      customerWrites: 2,
      productReads: 0,
      productWrites: 0,
      webhookDeliveries: 0,
    });
    const same = emu.counters;
    emu.resetCounters();
    expect(same).toEqual({ requests: 0, byRoute: {}, byStatus: {}, customerReads: 0, customerWrites: 0, productReads: 0, productWrites: 0, webhookDeliveries: 0 });
  });
});

describe('faults', () => {
  it('returns an injected 5xx once (default) in the error shape, then recovers', async () => {
    const { emu, base } = await setup();
    emu.injectFault({ status: 500 });
    const r = await call<IpaasErrorBody>(base, 'GET', '/customers/v2/Customer/1');
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ status: 500, title: 'Internal Server Error', errors: [] });
    expect(r.headers.get('x-correlation-id')).toBeTruthy();
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(200);
    expect(emu.counters.byStatus).toEqual({ '500': 1, '200': 1 });
  });

  it('429 carries Retry-After; route-scoped faults leave other routes alone; times counts down', async () => {
    const { emu, base } = await setup();
    emu.injectFault({ route: 'PUT /customers/v2/Customer/:id', status: 429, times: 2, retryAfterSeconds: 7 });
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(200);
    const a = await call<IpaasErrorBody>(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } });
    expect(a.status).toBe(429);
    expect(a.headers.get('retry-after')).toBe('7');
    expect(a.body).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } })).status).toBe(429);
    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } })).status).toBe(200);
    // the faulted writes did not happen
    expect(emu.counters.customerWrites).toBe(1);

    emu.injectFault({ status: 429 });
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).headers.get('retry-after')).toBe('1');
    emu.injectFault({ status: 503, retryAfterSeconds: 2 });
    const s = await call(base, 'GET', '/customers/v2/Customers');
    expect(s.status).toBe(503);
    expect(s.headers.get('retry-after')).toBe('2');
    emu.injectFault({ status: 502 });
    expect((await call(base, 'POST', '/sso/v2/Auth/Login', { token: null, body: {} })).status).toBe(502);
  });

  it('timeout faults hang the response (client times out) and affect only the next request', async () => {
    const { emu, base } = await setup();
    emu.injectFault({ route: 'GET /customers/v2/Customer/:id', kind: 'timeout' });
    const t0 = Date.now();
    await expect(call(base, 'GET', '/customers/v2/Customer/1', { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(200);
  });

  it('close() releases hung requests (504) so tests never wait 30 s', async () => {
    emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS });
    emu.injectFault({ kind: 'timeout' });
    const pending = emu.app.inject({ method: 'GET', url: '/customers/v2/Customer/1', headers: { authorization: 'Bearer ipaas-emulator-key' } });
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await emu.close();
    const res = await pending;
    expect(res.statusCode).toBe(504);
    expect(Date.now() - t0).toBeLessThan(1000);
    emu = undefined;
  });

  it('latencyMs delays every response', async () => {
    const { base } = await setup({ latencyMs: 80 });
    const t0 = Date.now();
    await call(base, 'GET', '/customers/v2/Customer/1');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
  });
});
