/**
 * The iPaaS.com emulator's control API (/__emulator/) over real HTTP: auth, counters, faults (which
 * must act exactly like injectFault()), and the custom field delete route it sits beside.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { createIpaasEmulator, type IpaasCounters, type IpaasEmulator, type IpaasErrorBody, type IpaasFault } from './index.js';
import { call, type CallResult } from './testing.js';

const FIELDS = [
  { name: 'Known to Film', data_type: 'bool' as const },
  { name: 'Last Prompt Text', data_type: 'string' as const },
];

let emu: IpaasEmulator;
let base: string;
beforeEach(async () => {
  emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, customFields: FIELDS });
  base = await emu.start({ host: '127.0.0.1', port: 0 });
});
afterEach(async () => emu.close());

const control = <T = any>(method: string, path: string, body?: unknown, token?: string | null) =>
  call<T>(base, method, `/__emulator/${path}`, { ...(body === undefined ? {} : { body }), ...(token === undefined ? {} : { token }) });

/** What a client sees of a faulted answer, without the per-request correlation id. */
const outcome = (r: CallResult<unknown>) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: r.body });

describe('control API: auth and discovery', () => {
  it('refuses a missing or wrong key with the normal 401 body, and counts nothing', async () => {
    for (const token of [null, 'wrong-key']) {
      for (const [method, path, body] of [['GET', 'counters'], ['POST', 'faults', { status: 500 }], ['DELETE', 'faults'], ['GET', '']] as const) {
        const r = await control<IpaasErrorBody>(method, path, body, token);
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.body).toMatchObject({ status: 401, title: 'Unauthorized', errors: [] });
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    expect(emu.pendingFaults()).toEqual([]);
    expect(emu.counters.requests).toBe(0);
    expect((await control('GET', 'counters')).status).toBe(200);
  });

  it('publishes its URL and lists its endpoints; unknown control paths are a 404 in the error shape', async () => {
    expect(emu.controlUrl).toBe(`${base}/__emulator/`);
    const index = await control('GET', '');
    expect(index.body).toEqual({ emulator: 'ipaas', endpoints: expect.arrayContaining(['POST /__emulator/faults', 'GET /__emulator/counters']) });
    const missing = await control<IpaasErrorBody>('GET', 'nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: 404, title: 'Not Found' });
    expect(emu.counters.requests).toBe(0);
  });
});

describe('control API: counters', () => {
  it('GET equals the in-process counters, excludes control calls; reset zeroes them', async () => {
    await control('POST', 'counters/reset');
    await call(base, 'GET', '/customers/v2/Customer/1');
    await control('GET', 'counters');
    await call(base, 'GET', '/customers/v2/Customer/999');
    await control('GET', 'faults');
    await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } });
    await call(base, 'GET', '/customers/v2/Customers', { token: 'bad' });
    await control('POST', 'faults', { status: 'nope' });
    const r = await control<IpaasCounters>('GET', 'counters');
    expect(r.status).toBe(200);
    expect(r.body).toEqual(emu.counters);
    expect(r.body).toEqual({
      requests: 4,
      byRoute: { 'GET /customers/v2/Customer/:id': 2, 'PUT /customers/v2/Customer/:id': 1, 'GET /customers/v2/Customers': 1 },
      byStatus: { '200': 2, '404': 1, '401': 1 },
      customerReads: 1,
      customerWrites: 1,
      productReads: 0,
      productWrites: 0,
      webhookDeliveries: 0,
    });
    const reset = await control<IpaasCounters>('POST', 'counters/reset');
    expect(reset.body).toEqual({ requests: 0, byRoute: {}, byStatus: {}, customerReads: 0, customerWrites: 0, productReads: 0, productWrites: 0, webhookDeliveries: 0 });
    expect(emu.counters).toEqual(reset.body);
  });
});

describe('control API: faults', () => {
  it('queues one fault (201), lists it with its remaining count, and clears the queue', async () => {
    const posted = await control('POST', 'faults', { route: 'put /customers/v2/customer/:id', status: 429, times: 2, retryAfterSeconds: 7 });
    expect(posted.status).toBe(201);
    // the route is normalized to the spelling the counters use
    expect(posted.body).toEqual({ fault: { route: 'PUT /customers/v2/Customer/:id', status: 429, times: 2, retryAfterSeconds: 7 }, remaining: 2 });
    await control('POST', 'faults', { kind: 'timeout' });
    expect(emu.pendingFaults()).toEqual([posted.body, { fault: { kind: 'timeout' }, remaining: 1 }]);

    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } })).status).toBe(429);
    // control calls never consume a fault, not even the route-less timeout
    const listed = await control('GET', 'faults');
    expect(listed.body).toEqual({ faults: [{ fault: posted.body.fault, remaining: 1 }, { fault: { kind: 'timeout' }, remaining: 1 }] });

    const cleared = await control('DELETE', 'faults');
    expect(cleared.body).toEqual({ cleared: 2 });
    expect((await control('GET', 'faults')).body).toEqual({ faults: [] });
    expect((await call(base, 'PUT', '/customers/v2/Customer/1', { body: { comment: 'x' } })).status).toBe(200);
  });

  it.each<Extract<IpaasFault, { status: number }>>([
    { status: 500 },
    { status: 429 },
    { status: 503, retryAfterSeconds: 2 },
    { status: 504, route: 'GET /customers/v2/Customer/:id' },
    { status: 502, route: 'POST /sso/v2/Auth/Login' },
  ])('%j over HTTP answers the next matching request exactly as injectFault() does', async (fault) => {
    const request = () =>
      fault.route === 'POST /sso/v2/Auth/Login'
        ? call(base, 'POST', '/sso/v2/Auth/Login', { token: null, body: {} })
        : call(base, 'GET', '/customers/v2/Customer/1');
    emu.injectFault(fault);
    const inProcess = outcome(await request());
    expect((await control('POST', 'faults', fault)).status).toBe(201);
    const overHttp = outcome(await request());
    expect(overHttp).toEqual(inProcess);
    expect(overHttp.status).toBe(fault.status);
    expect((await request()).status).not.toBe(fault.status);
  });

  it('route-scoped faults leave other routes alone, times counts down', async () => {
    await control('POST', 'faults', { route: 'GET /customers/v2/Customers', status: 503, times: 2 });
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(200);
    expect((await call(base, 'GET', '/customers/v2/Customers')).status).toBe(503);
    expect((await control('GET', 'faults')).body.faults[0].remaining).toBe(1);
    expect((await call(base, 'GET', '/customers/v2/Customers')).status).toBe(503);
    expect((await call(base, 'GET', '/customers/v2/Customers')).status).toBe(200);
  });

  it('a timeout fault hangs the next request until the client gives up, like the in-process one', async () => {
    await control('POST', 'faults', { route: 'GET /customers/v2/Customer/:id', kind: 'timeout' });
    const t0 = Date.now();
    await expect(call(base, 'GET', '/customers/v2/Customer/1', { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).status).toBe(200);
    expect(emu.pendingFaults()).toEqual([]);
  });

  it.each([
    [{ status: 501 }, 'status', '429, 500, 502, 503, 504'],
    [{}, 'status', '429, 500, 502, 503, 504'],
    [{ kind: 'slow' }, 'kind', '"timeout"'],
    [{ status: 500, times: 0 }, 'times', '>= 1'],
    [{ status: 500, retryAfterSeconds: 'soon' }, 'retryAfterSeconds', 'whole number'],
    [{ status: 500, route: 'GET /customers/v2/Nope' }, 'route', 'GET /customers/v2/Customer/:id'],
    [{ status: 500, delay: 3 }, 'delay', 'route, status, times and retryAfterSeconds'],
    [[{ status: 500 }], 'body', 'one fault as a JSON object'],
  ])('bad fault %j -> 400 naming %s and what is allowed', async (body, field, allowed) => {
    const r = await control<IpaasErrorBody>('POST', 'faults', body);
    expect(r.status).toBe(400);
    expect(r.body.status).toBe(400);
    expect(r.body.errors[0]?.field).toBe(field);
    expect(r.body.errors[0]?.message).toContain(allowed);
    expect(r.body.message).toMatch(/^Invalid fault: .*Send one fault, e\.g\./);
    expect(emu.pendingFaults()).toEqual([]);
  });

  it('malformed JSON gets the usual 400', async () => {
    const r = await call<IpaasErrorBody>(base, 'POST', '/__emulator/faults', { rawBody: '{"status":' });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/^The request body is not valid JSON/);
  });
});

describe('DELETE /customers/v2/CustomField/{id}', () => {
  const list = async () => (await call<{ id: number; name: string }[]>(base, 'GET', '/customers/v2/CustomFields?module=Customer')).body;
  const putKnown = () =>
    call<IpaasErrorBody>(base, 'PUT', '/customers/v2/Customer/1', { body: { custom_fields: [{ custom_field_name: 'Known to Film', value: 'true' }] } });

  it('204, gone from the list, its values gone from customers, and a PUT naming it is the unknown-field 400', async () => {
    expect((await putKnown()).status).toBe(200);
    expect(emu.getCustomer(1)?.custom_fields.map((f) => f.custom_field_name)).toEqual(['Known to Film']);
    const id = (await list()).find((d) => d.name === 'Known to Film')!.id;

    const del = await call(base, 'DELETE', `/customers/v2/CustomField/${id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    expect((await list()).map((d) => d.name)).toEqual(['Last Prompt Text']);
    expect((await call(base, 'GET', '/customers/v2/Customer/1')).body.custom_fields).toEqual([]);

    const refused = await putKnown();
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      status: 400,
      title: 'Bad Request',
      message: "Custom field 'Known to Film' is not defined for module Customer.",
      errors: [{ field: 'custom_fields[0].custom_field_name', message: "Custom field 'Known to Film' is not defined for module Customer." }],
    });

    // re-created under the same name it starts empty: the old values were deleted, not hidden
    expect((await call(base, 'POST', '/customers/v2/CustomField', { body: { name: 'Known to Film', module: 'Customer', data_type: 'bool' } })).status).toBe(201);
    expect(emu.getCustomer(1)?.custom_fields).toEqual([]);
    expect(emu.counters.byRoute['DELETE /customers/v2/CustomField/:id']).toBe(1);
  });

  it('404 in the error shape for an unknown id, 400 for a non-id, 401 without a key', async () => {
    const missing = await call<IpaasErrorBody>(base, 'DELETE', '/customers/v2/CustomField/99');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      status: 404,
      title: 'Not Found',
      message: 'Custom field with id 99 was not found; list the definitions with GET /customers/v2/CustomFields?module=Customer.',
      errors: [],
    });
    expect((await call(base, 'DELETE', '/customers/v2/CustomField/abc')).status).toBe(400);
    expect((await call(base, 'DELETE', '/customers/v2/CustomField/1', { token: null })).status).toBe(401);
    expect(await list()).toHaveLength(2);
  });

  it('faults can target it over HTTP (the control API knows the route)', async () => {
    expect((await control('POST', 'faults', { route: 'DELETE /customers/v2/CustomField/:id', status: 503 })).status).toBe(201);
    expect((await call(base, 'DELETE', '/customers/v2/CustomField/1')).status).toBe(503);
    expect((await call(base, 'DELETE', '/customers/v2/CustomField/1')).status).toBe(204);
  });

  it('deleteCustomField(name) does the same in-process and throws for an unknown name', async () => {
    expect((await call(base, 'PUT', '/customers/v2/Customer/2', { body: { custom_fields: [{ custom_field_name: 'Last Prompt Text', value: 'hi' }] } })).status).toBe(200);
    expect(emu.deleteCustomField('last prompt text')).toMatchObject({ name: 'Last Prompt Text' });
    expect(emu.getCustomer(2)?.custom_fields).toEqual([]);
    expect((await list()).map((d) => d.name)).toEqual(['Known to Film']);
    expect(() => emu.deleteCustomField('Last Prompt Text')).toThrow(/is not defined for module Customer/);
    expect(emu.counters.requests).toBe(2); // the in-process delete is not an API request
  });
});
