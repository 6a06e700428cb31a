/**
 * In-memory product records: create, merge-update (as customers: absent fields kept, custom fields
 * upserted by name), lookups and the list endpoint's filtering. [D] SKUs are unique without regard to
 * case (409 naming the holder), like customer numbers, since the SKU is the record's OpenAI Id.
 */
import { randomUUID } from 'node:crypto';
import type { SampleProduct } from '../sample-products.js';
import type { CustomFieldRegistry } from './custom-fields.js';
import { IpaasHttpError } from './errors.js';
import { matchesQuery, type ListQuery } from './list-query.js';
import { validateProductWrite, type ProductPatch } from './product-validation.js';
import type { IpaasProductJson } from './types.js';

/** PascalCase filter names of GET /products/v2/Products -> JSON field ([D] by analogy with customers). */
export const PRODUCT_FILTER_FIELDS = { sku: 'sku', name: 'name' } as const;
export type ProductFilterField = (typeof PRODUCT_FILTER_FIELDS)[keyof typeof PRODUCT_FILTER_FIELDS];
export type ProductQuery = ListQuery<ProductFilterField>;

export class ProductStore {
  /** Insertion order is id order (ids only grow), so no list needs sorting. */
  private readonly products = new Map<number, IpaasProductJson>();
  /** Lower-cased SKU -> id. */
  private readonly bySku = new Map<string, number>();
  private nextId = 1;
  private nextCustomFieldValueId = 1;
  private lastStamp = 0;

  constructor(private readonly fields: CustomFieldRegistry) {}

  /** Strictly increasing ISO timestamps, so every write moves updated_datetime. */
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  seed(samples: SampleProduct[]): void {
    for (const s of samples) this.create({ ...s });
  }

  get(id: number): IpaasProductJson | undefined {
    const p = this.products.get(id);
    return p ? structuredClone(p) : undefined;
  }

  list(): IpaasProductJson[] {
    return [...this.products.values()].map((p) => structuredClone(p));
  }

  findBySku(sku: string): IpaasProductJson | undefined {
    const id = this.bySku.get(sku.toLowerCase());
    const p = id === undefined ? undefined : this.products.get(id);
    return p ? structuredClone(p) : undefined;
  }

  /** One page of the matches (copies of just that page) and how many match in all. */
  query(q: ProductQuery, page: { offset: number; limit: number }): { total: number; items: IpaasProductJson[] } {
    let total = 0;
    const items: IpaasProductJson[] = [];
    for (const p of this.products.values()) {
      if (!matchesQuery(q, p.updated_datetime, (field) => p[field])) continue;
      if (total >= page.offset && items.length < page.limit) items.push(structuredClone(p));
      total++;
    }
    return { total, items };
  }

  private assertUniqueSku(sku: string | null | undefined, selfId?: number): void {
    if (!sku) return;
    const id = this.bySku.get(sku.toLowerCase());
    if (id !== undefined && id !== selfId) {
      const message = `A product with SKU '${sku}' already exists (id ${id}).`;
      throw new IpaasHttpError(409, message, [{ field: 'sku', message }]);
    }
  }

  private lookup = (name: string) => this.fields.find('Product', name);

  /** POST /products/v2/Product. Throws IpaasHttpError 400/409. */
  create(body: unknown): IpaasProductJson {
    const patch = validateProductWrite(body, 'create', this.lookup);
    this.assertUniqueSku(patch.sku);
    const now = this.stamp();
    const p: IpaasProductJson = {
      id: this.nextId++,
      tracking_guid: randomUUID(),
      sku: null,
      name: '',
      description: null,
      default_price: null,
      created_datetime: now,
      updated_datetime: now,
      custom_fields: [],
    };
    this.apply(p, patch);
    this.products.set(p.id, p);
    return structuredClone(p);
  }

  /** PUT /products/v2/Product/:id (merge semantics). Throws IpaasHttpError 400/404/409. */
  update(id: number, body: unknown): IpaasProductJson {
    const p = this.products.get(id);
    if (!p) throw new IpaasHttpError(404, `Product with id ${id} was not found.`);
    const patch = validateProductWrite(body, 'update', this.lookup);
    this.assertUniqueSku(patch.sku, id);
    this.apply(p, patch);
    p.updated_datetime = this.stamp();
    return structuredClone(p);
  }

  /** After DELETE /products/v2/CustomField/:id: as for customers, the values go with the definition. */
  dropCustomFieldValues(name: string): void {
    for (const p of this.products.values()) {
      if (p.custom_fields.some((v) => v.custom_field_name === name)) {
        p.custom_fields = p.custom_fields.filter((v) => v.custom_field_name !== name);
      }
    }
  }

  private apply(p: IpaasProductJson, patch: ProductPatch): void {
    if (patch.sku !== undefined) {
      if (p.sku) this.bySku.delete(p.sku.toLowerCase());
      p.sku = patch.sku;
      if (p.sku) this.bySku.set(p.sku.toLowerCase(), p.id);
    }
    if (patch.name !== undefined) p.name = patch.name;
    if (patch.description !== undefined) p.description = patch.description;
    if (patch.default_price !== undefined) p.default_price = patch.default_price;
    for (const cf of patch.custom_fields ?? []) {
      const existing = p.custom_fields.find((x) => x.custom_field_name === cf.custom_field_name);
      if (existing) existing.value = cf.value;
      else p.custom_fields.push({ id: this.nextCustomFieldValueId++, ...cf });
    }
  }
}
