import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS } from '../sample-customers.js';
import {
  checkCustomFieldValue,
  createIpaasEmulator,
  type IpaasCustomFieldJson,
  type IpaasCustomerJson,
  type IpaasEmulator,
  type IpaasErrorBody,
} from './index.js';

const AUTH = { authorization: 'Bearer ipaas-emulator-key' };

let emu: IpaasEmulator;
beforeEach(() => {
  emu = createIpaasEmulator({
    customers: SAMPLE_CUSTOMERS,
    customFields: [
      { name: 'Known to Film', data_type: 'bool', description: 'Is the person known by imdb.com' },
      { name: 'Last Response Date', data_type: 'datetime' },
      { name: 'Last Prompt Text', data_type: 'string' },
      { name: 'Score', data_type: 'number' },
      { name: 'Birthday', data_type: 'date' },
      { name: 'Ref', data_type: 'guid' },
      { name: 'Tier', data_type: 'enum', enum_values: ['Gold', 'Silver'] },
      { name: 'Secret', data_type: 'password' },
    ],
  });
});
afterEach(async () => emu.close());

async function req(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) {
  const r = await emu.app.inject({ method, url, headers: AUTH, ...(payload === undefined ? {} : { payload: payload as object }) });
  return { status: r.statusCode, body: r.json() as unknown };
}

describe('custom field definitions', () => {
  it('lists seeded definitions for module Customer', async () => {
    const r = await req('GET', '/customers/v2/CustomFields?module=Customer');
    expect(r.status).toBe(200);
    const defs = r.body as IpaasCustomFieldJson[];
    expect(defs).toHaveLength(8);
    expect(defs[0]).toEqual({ id: 1, name: 'Known to Film', module: 'Customer', data_type: 'bool', description: 'Is the person known by imdb.com' });
    expect(defs.find((d) => d.name === 'Tier')?.enum_values).toEqual(['Gold', 'Silver']);
    expect((await req('GET', '/customers/v2/CustomFields?module=Product')).body).toEqual([]);
  });

  it('creates definitions; 409 on duplicate names, 400 on bad data types', async () => {
    const created = await req('POST', '/customers/v2/CustomField', { name: 'Favourite Film', module: 'Customer', data_type: 'string', description: 'd' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 9, name: 'Favourite Film', module: 'Customer', data_type: 'string', description: 'd' });
    const dup = await req('POST', '/customers/v2/CustomField', { name: 'KNOWN TO FILM', module: 'Customer', data_type: 'bool' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ status: 409, title: 'Conflict', message: "Custom field 'Known to Film' already exists for module Customer." });
    const badType = await req('POST', '/customers/v2/CustomField', { name: 'X', module: 'Customer', data_type: 'boolean' });
    expect(badType.status).toBe(400);
    expect((badType.body as IpaasErrorBody).errors[0]?.field).toBe('data_type');
    expect((await req('POST', '/customers/v2/CustomField', { module: 'Customer', data_type: 'bool' })).status).toBe(400);
    expect((await req('POST', '/customers/v2/CustomField', { name: 'Y', module: 'Product', data_type: 'bool' })).status).toBe(400);
  });
});

describe('custom field values on write', () => {
  const put = (cf: unknown[]) => req('PUT', '/customers/v2/Customer/1', { custom_fields: cf });

  it('rejects an unknown field with a 400 naming it', async () => {
    const r = await put([{ custom_field_name: 'Known To Film 2', value: 'true' }]);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      status: 400,
      title: 'Bad Request',
      message: "Custom field 'Known To Film 2' is not defined for module Customer.",
      errors: [{ field: 'custom_fields[0].custom_field_name', message: "Custom field 'Known To Film 2' is not defined for module Customer." }],
    });
    // exactly the seed's failing case: the field is simply not defined
    const bare = createIpaasEmulator({ customers: SAMPLE_CUSTOMERS });
    const r2 = await bare.app.inject({
      method: 'PUT', url: '/customers/v2/Customer/1', headers: AUTH,
      payload: { custom_fields: [{ custom_field_name: 'Known To Film', value: 'true' }] },
    });
    expect(r2.json()).toMatchObject({ message: "Custom field 'Known To Film' is not defined for module Customer." });
    await bare.close();
  });

  it('rejects null, empty and non-string values', async () => {
    for (const value of [null, '', undefined, true, 3]) {
      const r = await put([{ custom_field_name: 'Last Prompt Text', value }]);
      expect(r.status, String(value)).toBe(400);
      expect((r.body as IpaasErrorBody).errors[0]?.field).toBe('custom_fields[0].value');
    }
    const r = await put([{ custom_field_name: 'Last Prompt Text', value: '' }]);
    expect((r.body as IpaasErrorBody).message).toBe("Custom field 'Last Prompt Text' value cannot be null or empty.");
  });

  it.each([
    ['Known To Film', 'true', true],
    ['Known To Film', 'false', true],
    ['Known To Film', 'TRUE', false],
    ['Known To Film', 'True', false],
    ['Known To Film', 'yes', false],
    ['Known To Film', '1', false],
    ['Score', '42', true],
    ['Score', '-3.5', true],
    ['Score', '1e3', true],
    ['Score', 'abc', false],
    ['Score', '1,5', false],
    ['Score', 'Infinity', false],
    ['Birthday', '1964-09-02', true],
    ['Birthday', '2023-02-29', false],
    ['Birthday', '02/09/1964', false],
    ['Birthday', '1964-09-02T00:00:00Z', false],
    ['Last Response Date', '2025-01-31T12:34:56Z', true],
    ['Last Response Date', '2025-01-31T12:34:56.123+02:00', true],
    ['Last Response Date', '2025-01-31T12:34', true],
    ['Last Response Date', '2025-01-31', false],
    ['Last Response Date', '2025-13-01T00:00:00Z', false],
    ['Last Response Date', 'yesterday', false],
    ['Ref', '6f1c2d3e-0000-4000-8000-00000000c0de', true],
    ['Ref', 'not-a-guid', false],
    ['Tier', 'Gold', true],
    ['Tier', 'gold', false],
    ['Tier', 'Bronze', false],
    ['Secret', 'hunter2', true],
    ['Last Prompt Text', 'any text at all ✓', true],
  ])('%s = %j -> valid %s', async (name, value, ok) => {
    const r = await put([{ custom_field_name: name, value }]);
    expect(r.status).toBe(ok ? 200 : 400);
    if (ok) {
      const stored = (r.body as IpaasCustomerJson).custom_fields.find((f) => f.custom_field_name.toLowerCase() === name.toLowerCase());
      expect(stored?.value).toBe(value);
    } else {
      const e = r.body as IpaasErrorBody;
      expect(e.errors[0]?.field).toBe('custom_fields[0].value');
      expect(e.message).toContain(`value '${value}'`);
    }
  });

  it('stores names with the definition spelling and reports every bad entry with its index', async () => {
    const ok = await put([{ custom_field_name: 'known TO film', value: 'true' }]);
    expect((ok.body as IpaasCustomerJson).custom_fields).toEqual([{ id: 1, custom_field_name: 'Known to Film', value: 'true' }]);
    const bad = await put([
      { custom_field_name: 'Known To Film', value: 'true' },
      { custom_field_name: 'Nope', value: 'x' },
      { custom_field_name: 'Score', value: 'x' },
    ]);
    expect(bad.status).toBe(400);
    expect((bad.body as IpaasErrorBody).errors.map((e) => e.field)).toEqual(['custom_fields[1].custom_field_name', 'custom_fields[2].value']);
    expect((bad.body as IpaasErrorBody).message).toMatch(/^Custom field 'Nope' is not defined for module Customer\. \(and 1 more/);
  });

  it('validates on create too', async () => {
    const r = await req('POST', '/customers/v2/Customer', {
      first_name: 'A', last_name: 'B', custom_fields: [{ custom_field_name: 'Known To Film', value: 'TRUE' }],
    });
    expect(r.status).toBe(400);
    expect(emu.listCustomers()).toHaveLength(SAMPLE_CUSTOMERS.length);
  });

  it('checkCustomFieldValue is exported for unit use', () => {
    const def: IpaasCustomFieldJson = { id: 1, name: 'B', module: 'Customer', data_type: 'bool', description: null };
    expect(checkCustomFieldValue(def, 'true')).toBeNull();
    expect(checkCustomFieldValue(def, 'TRUE')).toMatch(/not a valid bool/);
  });
});
