import { z } from 'zod';
import { ConnectorError } from '../shared/errors.js';

/**
 * The iPaaS.com data models the engine runs, declared once each: the API paths, the lenient remote
 * shape mapped to one strict internal record, the identity that becomes the OpenAI request's Id
 * (CustomerNumber, SKU), the standard fields mappings may name, what may be written back, and the
 * webhook scopes. Everything else in the pipeline is the same for every model.
 */

export const ENTITY_NAMES = ['customer', 'product'] as const;
export type EntityName = (typeof ENTITY_NAMES)[number];

/** One iPaaS.com record as the pipeline works with it, whatever its data model. */
export interface IpaasRecord {
  entity: EntityName;
  /** iPaaS.com's internal id. */
  id: string;
  /** The id qualified by its model, unique across models: what the queue, the sync log and the sync state key by. */
  key: string;
  /** The identity that becomes the OpenAI request's Id: CustomerNumber, SKU. */
  number: string | null;
  /** For people: "Keanu Reeves", "Winter Parka". */
  name: string | null;
  /** The standard fields mappings can name, by that name (CustomerNumber, FirstName, … / SKU, Name, …). */
  fields: Record<string, unknown>;
  /** Custom field values by the definition's name. */
  customFields: Record<string, string>;
  updatedAt: string | null;
}

/** A partial update as iPaaS.com's PUT takes it: writable standard fields by their API name, and custom fields. */
export interface RecordPatch {
  [apiField: string]: unknown;
  custom_fields?: Array<{ custom_field_name: string; value: string }>;
}

export interface EntityModel {
  name: EntityName;
  /** iPaaS.com's data model and custom field module: Customer, Product. */
  label: 'Customer' | 'Product';
  /** The field whose value is the OpenAI request's Id, and the one a record cannot be sent without. */
  identity: 'CustomerNumber' | 'SKU';
  /** REST paths: one record, the paged list, custom field definitions. */
  paths: { one: (id: string) => string; list: string; customFields: string; customField: string };
  /** The list filter's query name of the identity (matched with action=equals). */
  identityFilter: string;
  /** Webhook scopes, without /debug. */
  scopes: { created: string; updated: string; deleted: string };
  /** The collections' trigger events that webhooks of this model fire. */
  events: { created: string; updated: string };
  /** Standard fields mappings may read, by mapping name -> the remote record's key. */
  standardFields: Record<string, string>;
  /** Standard fields the connector may write back (least power), mapping name -> API field. */
  writable: Record<string, string>;
  /** Standard fields that hold lists (an absent list reads as empty). */
  listFields: readonly string[];
  /** The lenient remote shape of one record. */
  remote: z.ZodType<Record<string, unknown>>;
  /** A display name from the remote record. */
  nameOf(remote: Record<string, unknown>): string | null;
}

const customFieldsSchema = z.array(z.object({ custom_field_name: z.string(), value: z.string().nullish() }).loose()).nullish();

export const CUSTOMER: EntityModel = {
  name: 'customer',
  label: 'Customer',
  identity: 'CustomerNumber',
  paths: { one: (id) => `/customers/v2/Customer/${encodeURIComponent(id)}`, list: '/customers/v2/Customers', customFields: '/customers/v2/CustomFields?module=Customer', customField: '/customers/v2/CustomField' },
  identityFilter: 'CustomerNumber',
  scopes: { created: 'customer/created', updated: 'customer/updated', deleted: 'customer/deleted' },
  events: { created: 'Customer Create', updated: 'Customer Update' },
  standardFields: {
    CustomerNumber: 'customer_number',
    FirstName: 'first_name',
    LastName: 'last_name',
    EmailAddress: 'email_address',
    Company: 'company',
    Comment: 'comment',
    Categories: 'categories',
  },
  // Least power: only the one standard field the article names.
  writable: { Comment: 'comment' },
  listFields: ['Categories'],
  remote: z
    .object({
      id: z.union([z.number(), z.string()]),
      customer_number: z.string().nullish(),
      first_name: z.string().nullish(),
      last_name: z.string().nullish(),
      email_address: z.string().nullish(),
      company: z.string().nullish(),
      comment: z.string().nullish(),
      categories: z.array(z.string()).nullish(),
      updated_datetime: z.string().nullish(),
      custom_fields: customFieldsSchema,
    })
    .loose(),
  nameOf: (r) => [r.first_name, r.last_name].filter((v) => typeof v === 'string' && v.trim()).join(' ') || null,
};

/** Decided by analogy with customers (the sibling articles confirm SKU, Name, Description, DefaultPrice and the /products service). */
export const PRODUCT: EntityModel = {
  name: 'product',
  label: 'Product',
  identity: 'SKU',
  paths: { one: (id) => `/products/v2/Product/${encodeURIComponent(id)}`, list: '/products/v2/Products', customFields: '/products/v2/CustomFields?module=Product', customField: '/products/v2/CustomField' },
  identityFilter: 'Sku',
  scopes: { created: 'product/created', updated: 'product/updated', deleted: 'product/deleted' },
  events: { created: 'Product Create', updated: 'Product Update' },
  standardFields: { SKU: 'sku', Name: 'name', Description: 'description', DefaultPrice: 'default_price' },
  // The product article writes custom fields only.
  writable: {},
  listFields: [],
  remote: z
    .object({
      id: z.union([z.number(), z.string()]),
      sku: z.string().nullish(),
      name: z.string().nullish(),
      description: z.string().nullish(),
      default_price: z.number().nullish(),
      updated_datetime: z.string().nullish(),
      custom_fields: customFieldsSchema,
    })
    .loose(),
  nameOf: (r) => (typeof r.name === 'string' && r.name.trim() ? r.name : null),
};

export const ENTITIES: Record<EntityName, EntityModel> = { customer: CUSTOMER, product: PRODUCT };

export function entityModel(name: EntityName | undefined): EntityModel {
  return ENTITIES[name ?? 'customer'];
}

/** The model of a collection's data model name (Customer, Product). */
export function entityOfDataModel(dataModel: string): EntityModel {
  const e = Object.values(ENTITIES).find((m) => m.label === dataModel);
  if (!e) throw new Error(`Unknown data model ${dataModel}.`);
  return e;
}

/** The key the queue and the logs use: a customer's id as it is (as before products), another model's prefixed. */
export function recordKeyOf(entity: EntityName, id: string): string {
  return entity === 'customer' ? id : `${entity}:${id}`;
}

/** The model and bare id of a record key. */
export function parseRecordKey(key: string): { entity: EntityName; id: string } {
  const i = key.indexOf(':');
  const prefix = i > 0 ? key.slice(0, i) : '';
  return (ENTITY_NAMES as readonly string[]).includes(prefix) && prefix !== 'customer' ? { entity: prefix as EntityName, id: key.slice(i + 1) } : { entity: 'customer', id: key };
}

const blankToNull = (v: unknown): string | null => (typeof v !== 'string' || v.trim() === '' ? null : v);

/** The remote record, checked and mapped to the strict internal one (child collections are dropped on purpose). */
export function toRecord(model: EntityModel, remote: Record<string, unknown>): IpaasRecord {
  const customFields: Record<string, string> = {};
  for (const cf of (remote.custom_fields as Array<{ custom_field_name: string; value?: string | null }> | null | undefined) ?? []) {
    if (cf.value != null) customFields[cf.custom_field_name] = cf.value;
  }
  const fields: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(model.standardFields)) {
    const v = remote[key];
    fields[name] = model.listFields.includes(name) ? (Array.isArray(v) ? v : []) : typeof v === 'number' ? v : blankToNull(v);
  }
  const id = String(remote.id);
  return {
    entity: model.name,
    id,
    key: recordKeyOf(model.name, id),
    number: blankToNull(remote[model.standardFields[model.identity]!]),
    name: model.nameOf(remote),
    fields,
    customFields,
    updatedAt: typeof remote.updated_datetime === 'string' ? remote.updated_datetime : null,
  };
}

/** How a person or a webhook names a record: its identity (CustomerNumber, SKU) or its iPaaS.com id. */
export type RecordRef = { entity?: EntityName | undefined } & ({ customerNumber: string } | { id: string });

export const refText = (ref: RecordRef) => ('id' in ref ? `id ${ref.id}` : ref.customerNumber);

/** "Customer CUST-10045", "Product id 7": how errors name a record. */
export function describeRef(ref: RecordRef): string {
  const m = entityModel(ref.entity);
  return `${m.label} ${'id' in ref ? `with id ${ref.id}` : ref.customerNumber}`;
}

/** A record must carry its identity (CustomerNumber, SKU); without one nothing is sent. */
export function requireNumber(record: IpaasRecord): string {
  if (record.number) return record.number;
  const m = entityModel(record.entity);
  if (m.name === 'customer') {
    throw new ConnectorError('MISSING_CUSTOMER_NUMBER', `Customer id ${record.id} (${record.name ?? 'no name'}) has no CustomerNumber, so it cannot be sent to OpenAI: the CustomerNumber is the OpenAI request's Id.`, {
      fix: 'Fill in the Customer Number of this customer in iPaaS.com, then re-run the transfer.',
      details: { customerId: record.id },
    });
  }
  throw new ConnectorError('MISSING_IDENTITY', `${m.label} id ${record.id} (${record.name ?? 'no name'}) has no ${m.identity}, so it cannot be sent to OpenAI: the ${m.identity} is the OpenAI request's Id.`, {
    fix: `Fill in the ${m.identity} of this ${m.name} in iPaaS.com, then re-run the transfer (by its iPaaS.com id: \`ipaas-openai sync --entity ${m.name} --id ${record.id}\`).`,
    details: { recordId: record.id, entity: m.name },
  });
}
