import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import {
  createIpaasEmulator,
  type IpaasCustomerJson,
  type IpaasEmulator,
  type IpaasErrorBody,
  type IpaasPagination,
} from './index.js';
import { call } from './testing.js';

const AUTH = { authorization: 'Bearer ipaas-emulator-key' };

describe('read endpoints (real HTTP)', () => {
  let emu: IpaasEmulator;
  let base: string;
  beforeAll(async () => {
    emu = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS, pageSize: 4 });
    base = await emu.start();
  });
  afterAll(async () => emu.close());

  it('GET Customer/:id returns the snake_case record', async () => {
    const r = await call<IpaasCustomerJson>(base, 'GET', '/customers/v2/Customer/1');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: 1,
      customer_number: 'CUST-10045',
      first_name: 'Keanu',
      last_name: 'Reeves',
      email_address: 'keanu.reeves@example.com',
      company: 'Arch Motorcycle',
      comment: 'Prefers email contact.',
      category_id: null,
      categories: ['VIP', 'Wholesale'],
      custom_fields: [],
      external_ids: [],
    });
    expect(r.body.tracking_guid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.addresses[0]).toMatchObject({ id: expect.any(Number), address1: '1 Matrix Way', city: 'Los Angeles', address2: null });
    expect(Date.parse(r.body.created_datetime)).not.toBeNaN();
    expect(r.body.updated_datetime).toBe(r.body.created_datetime);
    expect(emu.getCustomer(1)).toEqual(r.body);
    const numberless = await call<IpaasCustomerJson>(base, 'GET', '/customers/v2/Customer/6');
    expect(numberless.body.customer_number).toBeNull();
  });

  it('GET Customer/:id 404 and 400 in the error shape; paths are case-insensitive', async () => {
    const nf = await call<IpaasErrorBody>(base, 'GET', '/customers/v2/Customer/999');
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ status: 404, title: 'Not Found', message: 'Customer with id 999 was not found.', errors: [] });
    expect((await call(base, 'GET', '/customers/v2/Customer/abc')).status).toBe(400);
    expect((await call(base, 'GET', '/CUSTOMERS/v2/customer/2')).status).toBe(200);
    const unknown = await call<IpaasErrorBody>(base, 'GET', '/customers/v2/Nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 404, title: 'Not Found', errors: [] });
  });

  it('pages with X-Pagination and stable id order', async () => {
    const p1 = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers');
    expect(p1.status).toBe(200);
    expect(p1.body.map((c) => c.id)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(p1.headers.get('x-pagination') ?? '')).toEqual({
      current_Page: 1, total_Pages: 2, page_Size: 4, total_Count: 6, has_Previous: false, has_Next: true,
    } satisfies IpaasPagination);
    const p2 = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?pageNumber=2');
    expect(p2.body.map((c) => c.id)).toEqual([5, 6]);
    expect(JSON.parse(p2.headers.get('x-pagination') ?? '')).toMatchObject({ current_Page: 2, has_Previous: true, has_Next: false });
    const small = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?pageSize=2&pageNumber=3');
    expect(small.body.map((c) => c.id)).toEqual([5, 6]);
    expect(JSON.parse(small.headers.get('x-pagination') ?? '')).toMatchObject({ page_Size: 2, total_Pages: 3 });
    // the query can lower the page size, never raise it above the configured one
    const big = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?pageSize=100');
    expect(big.body).toHaveLength(4);
    const beyond = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?pageNumber=9');
    expect(beyond.body).toEqual([]);
    expect((await call(base, 'GET', '/customers/v2/Customers?pageNumber=0')).status).toBe(400);
    expect((await call(base, 'GET', '/customers/v2/Customers?pageSize=x')).status).toBe(400);
  });

  it('filters with action=equals / contains on PascalCase fields, case-insensitively', async () => {
    const byNum = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?action=equals&CustomerNumber=cust-10046');
    expect(byNum.body.map((c) => c.first_name)).toEqual(['Ada']);
    expect(JSON.parse(byNum.headers.get('x-pagination') ?? '')).toMatchObject({ total_Count: 1, total_Pages: 1 });
    const byEmail = await call<IpaasCustomerJson[]>(base, 'GET', `/customers/v2/Customers?action=equals&EmailAddress=${encodeURIComponent('NORA@example.com')}`);
    expect(byEmail.body.map((c) => c.id)).toEqual([6]);
    const none = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?action=equals&CustomerNumber=CUST-1004');
    expect(none.body).toEqual([]);
    expect(JSON.parse(none.headers.get('x-pagination') ?? '')).toMatchObject({ total_Count: 0, total_Pages: 0, has_Next: false });
    const contains = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?action=contains&CustomerNumber=1004');
    expect(contains.body.map((c) => c.id)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(contains.headers.get('x-pagination') ?? '')).toMatchObject({ total_Count: 5, total_Pages: 2 });
    const both = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?action=equals&FirstName=ada&LastName=LOVELACE');
    expect(both.body.map((c) => c.id)).toEqual([2]);
    const company = await call<IpaasCustomerJson[]>(base, 'GET', '/customers/v2/Customers?action=contains&Company=engines');
    expect(company.body.map((c) => c.id)).toEqual([2]);
    expect((await call(base, 'GET', '/customers/v2/Customers?action=startswith&CustomerNumber=C')).status).toBe(400);
    expect((await call(base, 'GET', '/customers/v2/Customers?action=equals')).status).toBe(400);
  });

  it('filters with updatedSince', async () => {
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    emu.humanUpdate(3, { comment: 'changed' });
    const r = await call<IpaasCustomerJson[]>(base, 'GET', `/customers/v2/Customers?updatedSince=${encodeURIComponent(before)}`);
    expect(r.body.map((c) => c.id)).toEqual([3]);
    expect((await call(base, 'GET', '/customers/v2/Customers?updatedSince=yesterday')).status).toBe(400);
  });
});

describe('writes (inject)', () => {
  let emu: IpaasEmulator;
  beforeEach(() => {
    emu = createIpaasEmulator({
      customers: SAMPLE_CUSTOMERS,
      customFields: [
        { name: 'Known To Film', data_type: 'bool' },
        { name: 'Last Prompt Text', data_type: 'string' },
      ],
    });
  });
  afterEach(async () => emu.close());

  async function send(method: 'POST' | 'PUT', url: string, body: unknown) {
    const r = await emu.app.inject({ method, url, headers: AUTH, payload: body as object });
    return { status: r.statusCode, body: r.json() as IpaasCustomerJson & IpaasErrorBody };
  }

  it('creates a customer with a new id (201); customer_number may be missing', async () => {
    const r = await send('POST', '/customers/v2/Customer', {
      first_name: 'Tom', last_name: 'Hanks', email_address: 'tom@example.com', customer_number: 'CUST-2', categories: ['VIP'],
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: 7, first_name: 'Tom', customer_number: 'CUST-2', company: null, categories: ['VIP'] });
    expect(emu.findCustomerByNumber('cust-2')?.id).toBe(7);
    const noNumber = await send('POST', '/customers/v2/Customer', { first_name: 'No', last_name: 'Number' });
    expect(noNumber.status).toBe(201);
    expect(noNumber.body.customer_number).toBeNull();
    expect(noNumber.body.email_address).toBeNull();
    expect(emu.listCustomers()).toHaveLength(8);
  });

  it('validates create bodies and names each field', async () => {
    const missing = await send('POST', '/customers/v2/Customer', { customer_number: 'X' });
    expect(missing.status).toBe(400);
    expect(missing.body.title).toBe('Bad Request');
    expect(missing.body.errors.map((e) => e.field)).toEqual(['first_name', 'last_name']);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ first_name: '', last_name: 'L' }, 'first_name', /First name is required/],
      [{ first_name: 'F', last_name: 'x'.repeat(51) }, 'last_name', /50 characters/],
      [{ first_name: 'F', last_name: 'L', email_address: 'not-an-email' }, 'email_address', /not a valid email/],
      [{ first_name: 'F', last_name: 'L', customer_number: 'CUST_1' }, 'customer_number', /letters, digits and dashes/],
      [{ first_name: 'F', last_name: 'L', customer_number: 'C'.repeat(21) }, 'customer_number', /20 characters/],
      [{ first_name: 'F', last_name: 'L', categories: 'VIP' }, 'categories', /array/],
    ];
    for (const [body, field, msg] of cases) {
      const r = await send('POST', '/customers/v2/Customer', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errors[0]?.field).toBe(field);
      expect(r.body.message).toMatch(msg);
    }
    const notObject = await emu.app.inject({ method: 'POST', url: '/customers/v2/Customer', headers: AUTH });
    expect(notObject.statusCode).toBe(400);
    const malformed = await emu.app.inject({
      method: 'POST', url: '/customers/v2/Customer', headers: { ...AUTH, 'content-type': 'application/json' }, payload: '{"first_name":',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ status: 400, title: 'Bad Request', message: expect.stringMatching(/not valid JSON/) });
    const wrongType = await emu.app.inject({
      method: 'POST', url: '/customers/v2/Customer', headers: { ...AUTH, 'content-type': 'text/plain' }, payload: 'hi',
    });
    expect(wrongType.statusCode).toBe(415);
    expect(wrongType.json()).toMatchObject({ status: 415, title: 'Unsupported Media Type' });
  });

  it('rejects a duplicate customer_number with 409 (case-insensitive)', async () => {
    const r = await send('POST', '/customers/v2/Customer', { first_name: 'A', last_name: 'B', customer_number: 'cust-10045' });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ status: 409, title: 'Conflict', errors: [{ field: 'customer_number' }] });
    expect(r.body.message).toMatch(/cust-10045.*already exists/);
    const put = await send('PUT', '/customers/v2/Customer/2', { customer_number: 'CUST-10045' });
    expect(put.status).toBe(409);
    const self = await send('PUT', '/customers/v2/Customer/1', { customer_number: 'CUST-10045' });
    expect(self.status).toBe(200);
  });

  it('PUT merges: supplied fields replace, absent fields are kept, custom fields upsert by name', async () => {
    const before = emu.getCustomer(1);
    const first = await send('PUT', '/customers/v2/Customer/1', {
      comment: 'Updated comment',
      custom_fields: [{ custom_field_name: 'known to film', value: 'true' }, { custom_field_name: 'Last Prompt Text', value: 'p1' }],
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      first_name: 'Keanu', email_address: 'keanu.reeves@example.com', comment: 'Updated comment', categories: ['VIP', 'Wholesale'],
    });
    expect(first.body.custom_fields).toEqual([
      { id: expect.any(Number), custom_field_name: 'Known To Film', value: 'true' },
      { id: expect.any(Number), custom_field_name: 'Last Prompt Text', value: 'p1' },
    ]);
    expect(Date.parse(first.body.updated_datetime)).toBeGreaterThan(Date.parse(before?.updated_datetime ?? ''));
    expect(first.body.created_datetime).toBe(before?.created_datetime);

    const second = await send('PUT', '/customers/v2/Customer/1', {
      company: null, categories: [], custom_fields: [{ custom_field_name: 'KNOWN TO FILM', value: 'false' }], id: 99, unknown_key: 1,
    });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ id: 1, company: null, categories: [], comment: 'Updated comment' });
    expect(second.body.custom_fields).toEqual([
      { id: first.body.custom_fields[0]?.id, custom_field_name: 'Known To Film', value: 'false' },
      { id: first.body.custom_fields[1]?.id, custom_field_name: 'Last Prompt Text', value: 'p1' },
    ]);
    expect(second.body.updated_datetime > first.body.updated_datetime).toBe(true);

    // a failed PUT changes nothing
    const bad = await send('PUT', '/customers/v2/Customer/1', { comment: 'x', first_name: '' });
    expect(bad.status).toBe(400);
    expect(emu.getCustomer(1)).toEqual(second.body);
    expect((await send('PUT', '/customers/v2/Customer/404', { comment: 'x' })).status).toBe(404);
    // an empty PUT is still a write
    const empty = await send('PUT', '/customers/v2/Customer/1', {});
    expect(empty.status).toBe(200);
    expect(empty.body.updated_datetime > second.body.updated_datetime).toBe(true);
  });

  it('humanUpdate applies the same rules and returns copies', () => {
    const c = emu.humanUpdate(2, { first_name: 'Augusta Ada' });
    expect(c.first_name).toBe('Augusta Ada');
    c.first_name = 'mutated';
    expect(emu.getCustomer(2)?.first_name).toBe('Augusta Ada');
    expect(() => emu.humanUpdate(2, { email_address: 'bad' })).toThrow(/not a valid email/);
    expect(() => emu.humanUpdate(99, { comment: 'x' })).toThrow(/not found/);
  });
});
