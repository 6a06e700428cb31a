/** Products over real HTTP: reads, paging and filters, writes and their validation, product custom fields. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_PRODUCTS } from '../sample-products.js';
import {
  createIpaasEmulator,
  type IpaasCustomFieldJson,
  type IpaasEmulator,
  type IpaasEmulatorOptions,
  type IpaasErrorBody,
  type IpaasPagination,
  type IpaasProductJson,
} from './index.js';
import { call } from './testing.js';

let emu: IpaasEmulator;
let base: string;
async function setup(opts: IpaasEmulatorOptions = {}) {
  emu = createIpaasEmulator({ products: SAMPLE_PRODUCTS, ...opts });
  base = await emu.start();
}
afterEach(async () => emu.close());

const pagesOf = (h: Headers): IpaasPagination => JSON.parse(h.get('x-pagination') ?? '') as IpaasPagination;

describe('product reads', () => {
  beforeEach(() => setup({ pageSize: 3 }));

  it('GET Product/:id returns the snake_case record, the article example first', async () => {
    const r = await call<IpaasProductJson>(base, 'GET', '/products/v2/Product/1');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: 1,
      tracking_guid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      sku: 'PROD-SKU-12345',
      name: 'Winter Parka',
      description: SAMPLE_PRODUCTS[0]!.description,
      default_price: 249.99,
      created_datetime: expect.any(String),
      updated_datetime: expect.any(String),
      custom_fields: [],
    });
    expect(r.body.updated_datetime).toBe(r.body.created_datetime);
    expect(emu.getProduct(1)).toEqual(r.body);
    expect((await call<IpaasProductJson>(base, 'GET', '/products/v2/Product/4')).body).toMatchObject({ sku: null, name: 'Unlabelled Sample' });
    expect(emu.findProductBySku('prod-sku-12346')?.id).toBe(2);
  });

  it('404 and 400 in the customers\' error shape; paths are case-insensitive', async () => {
    const nf = await call<IpaasErrorBody>(base, 'GET', '/products/v2/Product/999');
    expect(nf.status).toBe(404);
    expect(nf.body).toEqual({ status: 404, title: 'Not Found', message: 'Product with id 999 was not found.', errors: [] });
    const bad = await call<IpaasErrorBody>(base, 'GET', '/products/v2/Product/x1');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("Product id 'x1' is not a valid id.");
    expect((await call(base, 'GET', '/PRODUCTS/v2/product/2')).status).toBe(200);
    expect((await call(base, 'GET', '/products/v2/Product/1', { token: 'wrong' })).status).toBe(401);
  });

  it('pages with X-Pagination like customers', async () => {
    const p1 = await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products');
    expect(p1.body.map((p) => p.id)).toEqual([1, 2, 3]);
    expect(pagesOf(p1.headers)).toEqual({ current_Page: 1, total_Pages: 2, page_Size: 3, total_Count: 4, has_Previous: false, has_Next: true });
    const p2 = await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products?pageNumber=2');
    expect(p2.body.map((p) => p.id)).toEqual([4]);
    expect(pagesOf(p2.headers)).toMatchObject({ current_Page: 2, has_Previous: true, has_Next: false });
    const small = await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products?pageNumber=2&pageSize=2');
    expect(small.body.map((p) => p.id)).toEqual([3, 4]);
    expect(pagesOf(small.headers)).toMatchObject({ page_Size: 2, total_Pages: 2 });
    expect((await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products?pageSize=50')).body).toHaveLength(3);
    expect((await call(base, 'GET', '/products/v2/Products?pageNumber=0')).status).toBe(400);
  });

  it('filters by Sku and Name (equals / contains, any case) and updatedSince', async () => {
    const bySku = await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products?action=equals&Sku=prod-sku-12345');
    expect(bySku.body.map((p) => p.name)).toEqual(['Winter Parka']);
    expect(pagesOf(bySku.headers)).toMatchObject({ total_Count: 1 });
    const contains = await call<IpaasProductJson[]>(base, 'GET', '/products/v2/Products?action=contains&Name=SHOE');
    expect(contains.body.map((p) => p.id)).toEqual([2]);
    const missing = await call<IpaasErrorBody>(base, 'GET', '/products/v2/Products?action=equals');
    expect(missing.status).toBe(400);
    expect(missing.body.message).toBe("Filter action 'equals' needs a field to filter on (Sku or Name).");
    const before = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 5));
    emu.humanUpdateProduct(3, { default_price: 29 });
    const since = await call<IpaasProductJson[]>(base, 'GET', `/products/v2/Products?updatedSince=${encodeURIComponent(before)}`);
    expect(since.body.map((p) => p.id)).toEqual([3]);
  });
});

describe('product writes', () => {
  beforeEach(() =>
    setup({
      customFields: [
        { name: 'OpenAI Response Season', module: 'Product', data_type: 'string' },
        { name: 'OpenAI Last Response Date', module: 'Product', data_type: 'datetime' },
        { name: 'Known To Film', data_type: 'bool' },
      ],
    }),
  );

  it('POST creates (201) with the next id; the SKU is unique without regard to case', async () => {
    const r = await call<IpaasProductJson>(base, 'POST', '/products/v2/Product', {
      body: { sku: 'PROD-NEW-1', name: 'Rain Shell', description: 'Packable.', default_price: 99 },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ id: 5, sku: 'PROD-NEW-1', name: 'Rain Shell', description: 'Packable.', default_price: 99, custom_fields: [] });
    expect(emu.listProducts()).toHaveLength(5);
    const dup = await call<IpaasErrorBody>(base, 'POST', '/products/v2/Product', { body: { sku: 'prod-sku-12345', name: 'Copy' } });
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({
      status: 409,
      title: 'Conflict',
      message: "A product with SKU 'prod-sku-12345' already exists (id 1).",
      errors: [{ field: 'sku', message: "A product with SKU 'prod-sku-12345' already exists (id 1)." }],
    });
    // a product without a SKU is allowed (the connector, not the API, refuses to send it)
    const noSku = await call<IpaasProductJson>(base, 'POST', '/products/v2/Product', { body: { name: 'No SKU', sku: '' } });
    expect(noSku.body).toMatchObject({ sku: null, description: null, default_price: null });
  });

  it('validates like customers: every problem listed, the first one the message', async () => {
    const bad = await call<IpaasErrorBody>(base, 'POST', '/products/v2/Product', {
      body: { sku: 'X'.repeat(51), default_price: '12.50', description: 7 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.field)).toEqual(['name', 'sku', 'description', 'default_price']);
    expect(bad.body.message).toBe('Name is required. (and 3 more validation errors)');
    const negative = await call<IpaasErrorBody>(base, 'PUT', '/products/v2/Product/1', { body: { default_price: -1 } });
    expect(negative.body.message).toBe('Default price -1 must not be negative.');
    expect((await call(base, 'PUT', '/products/v2/Product/1', { rawBody: '{"name":' })).status).toBe(400);
    expect((await call(base, 'PUT', '/products/v2/Product/99', { body: { name: 'x' } })).status).toBe(404);
  });

  it('PUT merges: absent fields kept, custom fields upserted by name in the definition\'s spelling', async () => {
    const r1 = await call<IpaasProductJson>(base, 'PUT', '/products/v2/Product/1', {
      body: { custom_fields: [{ custom_field_name: 'openai response season', value: 'Winter' }] },
    });
    expect(r1.status).toBe(200);
    expect(r1.body).toMatchObject({ sku: 'PROD-SKU-12345', name: 'Winter Parka', default_price: 249.99 });
    expect(r1.body.custom_fields).toEqual([{ id: 1, custom_field_name: 'OpenAI Response Season', value: 'Winter' }]);
    expect(r1.body.updated_datetime > r1.body.created_datetime).toBe(true);
    const r2 = await call<IpaasProductJson>(base, 'PUT', '/products/v2/Product/1', {
      body: { default_price: 199, custom_fields: [{ custom_field_name: 'OpenAI Response Season', value: 'All seasons' }] },
    });
    expect(r2.body.default_price).toBe(199);
    expect(r2.body.custom_fields).toEqual([{ id: 1, custom_field_name: 'OpenAI Response Season', value: 'All seasons' }]);
  });

  it('a PUT naming an undefined custom field is a 400 naming it; a Customer field is not a Product field', async () => {
    const r = await call<IpaasErrorBody>(base, 'PUT', '/products/v2/Product/1', {
      body: { custom_fields: [{ custom_field_name: 'OpenAI Last Prompt Text', value: 'x' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      status: 400,
      title: 'Bad Request',
      message: "Custom field 'OpenAI Last Prompt Text' is not defined for module Product.",
      errors: [{ field: 'custom_fields[0].custom_field_name', message: "Custom field 'OpenAI Last Prompt Text' is not defined for module Product." }],
    });
    const customerField = await call<IpaasErrorBody>(base, 'PUT', '/products/v2/Product/1', {
      body: { custom_fields: [{ custom_field_name: 'Known To Film', value: 'true' }] },
    });
    expect(customerField.body.message).toBe("Custom field 'Known To Film' is not defined for module Product.");
    const typed = await call<IpaasErrorBody>(base, 'PUT', '/products/v2/Product/1', {
      body: { custom_fields: [{ custom_field_name: 'OpenAI Last Response Date', value: 'yesterday' }, { custom_field_name: 'OpenAI Response Season', value: '' }] },
    });
    expect(typed.body.errors.map((e) => e.message)).toEqual([
      "Custom field 'OpenAI Last Response Date' value 'yesterday' is not a valid ISO-8601 datetime.",
      "Custom field 'OpenAI Response Season' value cannot be null or empty.",
    ]);
    expect(emu.getProduct(1)?.custom_fields).toEqual([]);
  });
});

describe('product custom field definitions', () => {
  beforeEach(() => setup({ customFields: [{ name: 'Known To Film', data_type: 'bool' }] }));

  it('each service lists and creates its own module; ids come from one sequence', async () => {
    const created = await call<IpaasCustomFieldJson>(base, 'POST', '/products/v2/CustomField', {
      body: { name: 'OpenAI Response Season', module: 'Product', data_type: 'string', description: 'Season the answer suggests' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 2, name: 'OpenAI Response Season', module: 'Product', data_type: 'string', description: 'Season the answer suggests' });
    expect((await call(base, 'GET', '/products/v2/CustomFields?module=Product')).body).toEqual([created.body]);
    expect((await call(base, 'GET', '/products/v2/CustomFields')).body).toEqual([created.body]);
    expect((await call(base, 'GET', '/products/v2/CustomFields?module=Customer')).body).toEqual([]);
    expect((await call<IpaasCustomFieldJson[]>(base, 'GET', '/customers/v2/CustomFields?module=Customer')).body.map((d) => d.name)).toEqual(['Known To Film']);
    expect((await call(base, 'GET', '/customers/v2/CustomFields?module=Product')).body).toEqual([]);
    // the same name may exist in both modules
    const sameName = await call(base, 'POST', '/products/v2/CustomField', { body: { name: 'known to film', module: 'Product', data_type: 'bool' } });
    expect(sameName.status).toBe(201);
    const dup = await call<IpaasErrorBody>(base, 'POST', '/products/v2/CustomField', { body: { name: 'KNOWN TO FILM', module: 'Product', data_type: 'bool' } });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toBe("Custom field 'known to film' already exists for module Product.");
  });

  it('a body naming the other module is a 400 that names the route to use', async () => {
    const atProducts = await call<IpaasErrorBody>(base, 'POST', '/products/v2/CustomField', { body: { name: 'X', module: 'Customer', data_type: 'bool' } });
    expect(atProducts.status).toBe(400);
    expect(atProducts.body.message).toBe("Module 'Customer' is not supported here; create Customer custom fields with POST /customers/v2/CustomField.");
    const atCustomers = await call<IpaasErrorBody>(base, 'POST', '/customers/v2/CustomField', { body: { name: 'X', module: 'product', data_type: 'bool' } });
    expect(atCustomers.body.message).toBe("Module 'product' is not supported here; create Product custom fields with POST /products/v2/CustomField.");
    const unknown = await call<IpaasErrorBody>(base, 'POST', '/products/v2/CustomField', { body: { name: 'X', module: 'Order', data_type: 'bool' } });
    expect(unknown.body.message).toBe("Module 'Order' is not supported; only Product is.");
  });

  it('DELETE /products/v2/CustomField/{id} drops the values products hold; another module\'s id is a 404', async () => {
    const def = (await call<IpaasCustomFieldJson>(base, 'POST', '/products/v2/CustomField', { body: { name: 'OpenAI Response Season', module: 'Product', data_type: 'string' } })).body;
    await call(base, 'PUT', '/products/v2/Product/2', { body: { custom_fields: [{ custom_field_name: 'OpenAI Response Season', value: 'Summer' }] } });
    const stamped = emu.getProduct(2)!.updated_datetime;
    const wrongModule = await call<IpaasErrorBody>(base, 'DELETE', '/products/v2/CustomField/1');
    expect(wrongModule.status).toBe(404);
    expect(wrongModule.body.message).toBe('Custom field with id 1 was not found; list the definitions with GET /products/v2/CustomFields?module=Product.');
    expect((await call(base, 'DELETE', `/customers/v2/CustomField/${def.id}`)).status).toBe(404);
    expect((await call(base, 'DELETE', `/products/v2/CustomField/${def.id}`)).status).toBe(204);
    expect(emu.getProduct(2)).toMatchObject({ custom_fields: [], updated_datetime: stamped });
    expect((await call(base, 'GET', '/products/v2/CustomFields')).body).toEqual([]);
    // the customer field is untouched, and deleteCustomField() takes the module
    expect(() => emu.deleteCustomField('Known To Film', 'Product')).toThrow(/is not defined for module Product/);
    expect(emu.deleteCustomField('known to film')).toMatchObject({ id: 1, module: 'Customer' });
  });
});
