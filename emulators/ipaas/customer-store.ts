/** In-memory customer records: create, merge-update, lookups and the list endpoint's filtering. */
import { randomUUID } from 'node:crypto';
import type { SampleCustomer } from '../sample-customers.js';
import type { CustomFieldRegistry } from './custom-fields.js';
import { IpaasHttpError } from './errors.js';
import { matchesQuery, type ListQuery } from './list-query.js';
import type { IpaasCustomerJson } from './types.js';
import { validateCustomerWrite, type CustomerPatch } from './validation.js';

/** PascalCase filter names of GET /customers/v2/Customers -> JSON field. */
export const FILTER_FIELDS = {
  customernumber: 'customer_number',
  emailaddress: 'email_address',
  firstname: 'first_name',
  lastname: 'last_name',
  company: 'company',
} as const;
export type FilterField = (typeof FILTER_FIELDS)[keyof typeof FILTER_FIELDS];

export type CustomerQuery = ListQuery<FilterField>;

export class CustomerStore {
  /** Insertion order is id order (ids only grow), so no list needs sorting. */
  private readonly customers = new Map<number, IpaasCustomerJson>();
  /** Lower-cased CustomerNumber -> id: lookups and the uniqueness check stay O(1) at 100,000 customers. */
  private readonly byNumber = new Map<string, number>();
  private nextId = 1;
  private nextCustomFieldValueId = 1;
  private nextAddressId = 1;
  private lastStamp = 0;

  constructor(private readonly fields: CustomFieldRegistry) {}

  /** Strictly increasing ISO timestamps, so every write moves updated_datetime. */
  private stamp(): string {
    this.lastStamp = Math.max(Date.now(), this.lastStamp + 1);
    return new Date(this.lastStamp).toISOString();
  }

  seed(samples: SampleCustomer[]): void {
    for (const s of samples) {
      const body: Record<string, unknown> = {
        customer_number: s.customer_number,
        first_name: s.first_name,
        last_name: s.last_name,
        email_address: s.email_address,
        company: s.company ?? null,
        comment: s.comment ?? null,
        categories: s.categories ?? [],
        addresses: s.addresses ?? [],
      };
      this.create(body);
    }
  }

  get(id: number): IpaasCustomerJson | undefined {
    const c = this.customers.get(id);
    return c ? structuredClone(c) : undefined;
  }

  list(): IpaasCustomerJson[] {
    return [...this.customers.values()].map((c) => structuredClone(c));
  }

  findByNumber(n: string): IpaasCustomerJson | undefined {
    const id = this.byNumber.get(n.toLowerCase());
    const c = id === undefined ? undefined : this.customers.get(id);
    return c ? structuredClone(c) : undefined;
  }

  /** One page of the matches (copies of just that page) and how many match in all. */
  query(q: CustomerQuery, page: { offset: number; limit: number }): { total: number; items: IpaasCustomerJson[] } {
    const matches = (c: IpaasCustomerJson) => matchesQuery(q, c.updated_datetime, (field) => c[field]);
    // An equals filter on CustomerNumber alone is an index lookup, as in a real database.
    const only = q.filters.length === 1 && q.action === 'equals' && q.filters[0]!.field === 'customer_number' ? q.filters[0]!.value : undefined;
    const candidates = only !== undefined ? [this.customers.get(this.byNumber.get(only.toLowerCase()) ?? -1)].filter((c): c is IpaasCustomerJson => !!c) : this.customers.values();
    let total = 0;
    const items: IpaasCustomerJson[] = [];
    for (const c of candidates) {
      if (!matches(c)) continue;
      if (total >= page.offset && items.length < page.limit) items.push(structuredClone(c));
      total++;
    }
    return { total, items };
  }

  private assertUniqueNumber(n: string | null | undefined, selfId?: number): void {
    if (!n) return;
    const id = this.byNumber.get(n.toLowerCase());
    if (id !== undefined && id !== selfId) {
      const message = `A customer with customer number '${n}' already exists (id ${id}).`;
      throw new IpaasHttpError(409, message, [{ field: 'customer_number', message }]);
    }
  }

  private lookup = (name: string) => this.fields.find('Customer', name);

  /** POST /customers/v2/Customer. Throws IpaasHttpError 400/409. */
  create(body: unknown): IpaasCustomerJson {
    const patch = validateCustomerWrite(body, 'create', this.lookup);
    this.assertUniqueNumber(patch.customer_number);
    const now = this.stamp();
    const c: IpaasCustomerJson = {
      id: this.nextId++,
      tracking_guid: randomUUID(),
      customer_number: null,
      first_name: '',
      last_name: '',
      email_address: null,
      company: null,
      comment: null,
      category_id: null,
      categories: [],
      created_datetime: now,
      updated_datetime: now,
      custom_fields: [],
      external_ids: [],
      addresses: [],
    };
    this.apply(c, patch);
    this.customers.set(c.id, c);
    return structuredClone(c);
  }

  /** PUT /customers/v2/Customer/:id (merge semantics). Throws IpaasHttpError 400/404/409. */
  update(id: number, body: unknown): IpaasCustomerJson {
    const c = this.customers.get(id);
    if (!c) throw new IpaasHttpError(404, `Customer with id ${id} was not found.`);
    const patch = validateCustomerWrite(body, 'update', this.lookup);
    this.assertUniqueNumber(patch.customer_number, id);
    this.apply(c, patch);
    c.updated_datetime = this.stamp();
    return structuredClone(c);
  }

  /**
   * After DELETE /customers/v2/CustomField/:id removed the definition. [D] The values customers hold
   * for the field go with it (they vanish from reads, and a re-created field of the same name starts
   * empty), as a cascading delete would; it is a definition change, not a record edit, so
   * updated_datetime stays and no webhook fires.
   */
  dropCustomFieldValues(name: string): void {
    for (const c of this.customers.values()) {
      if (c.custom_fields.some((v) => v.custom_field_name === name)) {
        c.custom_fields = c.custom_fields.filter((v) => v.custom_field_name !== name);
      }
    }
  }

  private apply(c: IpaasCustomerJson, p: CustomerPatch): void {
    if (p.customer_number !== undefined) {
      if (c.customer_number) this.byNumber.delete(c.customer_number.toLowerCase());
      c.customer_number = p.customer_number;
      if (c.customer_number) this.byNumber.set(c.customer_number.toLowerCase(), c.id);
    }
    if (p.first_name !== undefined) c.first_name = p.first_name;
    if (p.last_name !== undefined) c.last_name = p.last_name;
    if (p.email_address !== undefined) c.email_address = p.email_address;
    if (p.company !== undefined) c.company = p.company;
    if (p.comment !== undefined) c.comment = p.comment;
    if (p.categories !== undefined) c.categories = p.categories;
    if (p.external_ids !== undefined) c.external_ids = p.external_ids;
    if (p.addresses !== undefined) {
      c.addresses = p.addresses.map((a) => ({ id: this.nextAddressId++, ...a }));
    }
    for (const cf of p.custom_fields ?? []) {
      const existing = c.custom_fields.find((x) => x.custom_field_name === cf.custom_field_name);
      if (existing) existing.value = cf.value;
      else c.custom_fields.push({ id: this.nextCustomFieldValueId++, ...cf });
    }
  }
}
