/**
 * Public types of the iPaaS.com emulator: options, the API's snake_case JSON shapes,
 * counters, faults and webhook delivery records.
 */
import type { SampleCustomer } from '../sample-customers.js';
import type { SampleProduct } from '../sample-products.js';

export type CustomFieldType =
  | 'string'
  | 'number'
  | 'bool'
  | 'guid'
  | 'encrypted'
  | 'password'
  | 'date'
  | 'datetime'
  | 'enum';

export const CUSTOM_FIELD_TYPES: readonly CustomFieldType[] = [
  'string', 'number', 'bool', 'guid', 'encrypted', 'password', 'date', 'datetime', 'enum',
];

export const CUSTOM_FIELD_MODULE = 'Customer';
/** [C] Custom fields are defined per module ("Customer, Product, ..."); the emulator models these two. */
export const CUSTOM_FIELD_MODULES = ['Customer', 'Product'] as const;
export type CustomFieldModule = (typeof CUSTOM_FIELD_MODULES)[number];

export interface CustomFieldSeed {
  name: string;
  /** Default 'Customer'. */
  module?: CustomFieldModule;
  data_type: CustomFieldType;
  description?: string;
  /** Only meaningful for data_type 'enum': the allowed values (exact, case-sensitive). */
  enum_values?: string[];
}

export interface IpaasEmulatorOptions {
  /** Valid bearer API keys; default ['ipaas-emulator-key']. */
  apiKeys?: string[];
  /** Users for /sso/v2/Auth/Login; default [{email_address:'demo@example.com', password:'demo-password'}]. */
  users?: { email_address: string; password: string }[];
  /** Seeded customers (ids 1..n in order); default none. */
  customers?: SampleCustomer[];
  /** Seeded products (ids 1..n in order); default none. */
  products?: SampleProduct[];
  /** Custom field definitions seeded (module Customer unless the seed names Product); default none. */
  customFields?: CustomFieldSeed[];
  /** Default (and maximum) page size of the list endpoint; default 50, capped at 100. */
  pageSize?: number;
  /** Added before every response, default 0. */
  latencyMs?: number;
  /** SSO access token lifetime, default 3600. */
  tokenTtlSeconds?: number;
  /** What one retry "minute" lasts, in ms; default 60000. */
  webhookRetryUnitMs?: number;
  /** Delivery attempts per notification (first try included); default 5. */
  webhookMaxAttempts?: number;
  /** Fastify logger, default false. */
  logger?: boolean;
}

// ---------- JSON shapes (what the API reads and writes) ----------

export interface IpaasCustomFieldValueJson {
  id: number;
  custom_field_name: string;
  value: string;
}

export interface IpaasCustomFieldValueWrite {
  custom_field_name: string;
  value: string;
}

export interface IpaasAddressJson {
  id: number;
  address1: string | null;
  address2: string | null;
  city: string | null;
  region: string | null;
  postal_code: string | null;
  country: string | null;
}

export type IpaasAddressWrite = Partial<Omit<IpaasAddressJson, 'id'>>;

export interface IpaasCustomerJson {
  id: number;
  tracking_guid: string;
  customer_number: string | null;
  first_name: string;
  last_name: string;
  email_address: string | null;
  company: string | null;
  comment: string | null;
  category_id: null;
  categories: string[];
  created_datetime: string;
  updated_datetime: string;
  custom_fields: IpaasCustomFieldValueJson[];
  external_ids: Record<string, unknown>[];
  addresses: IpaasAddressJson[];
}

/** Body of POST /customers/v2/Customer (PUT takes any subset: merge semantics). */
export interface IpaasCustomerWrite {
  customer_number?: string | null;
  first_name: string;
  last_name: string;
  email_address?: string | null;
  company?: string | null;
  comment?: string | null;
  categories?: string[];
  addresses?: IpaasAddressWrite[];
  custom_fields?: IpaasCustomFieldValueWrite[];
  external_ids?: Record<string, unknown>[];
}

/**
 * A product record. [C] products live under the `/products` service and the OpenAI product articles
 * use SKU (the OpenAI Id), Name, Description and DefaultPrice; [D] the JSON names are snake_case by
 * analogy with customers, and tracking_guid / created_datetime / updated_datetime likewise.
 */
export interface IpaasProductJson {
  id: number;
  tracking_guid: string;
  sku: string | null;
  name: string;
  description: string | null;
  default_price: number | null;
  created_datetime: string;
  updated_datetime: string;
  custom_fields: IpaasCustomFieldValueJson[];
}

/** Body of POST /products/v2/Product (PUT takes any subset: merge semantics, as for customers). */
export interface IpaasProductWrite {
  sku?: string | null;
  name: string;
  description?: string | null;
  default_price?: number | null;
  custom_fields?: IpaasCustomFieldValueWrite[];
}

export interface IpaasCustomFieldJson {
  id: number;
  name: string;
  module: CustomFieldModule;
  data_type: CustomFieldType;
  description: string | null;
  enum_values?: string[];
}

export interface IpaasWebhookJson {
  id: number;
  scope: string;
  destination_url: string;
  created_datetime: string;
}

export interface IpaasLoginResponse {
  access_token: string;
  access_token_expiration: string;
  refresh_token: string;
  refresh_token_expiration: string;
  user_id: string;
  company_id: string;
  /** Also present in the real response (iPaaS.Integration.DevelopmentUtility LoginResponse). */
  id: string;
  name: string;
  email_address: string;
}

export interface IpaasPagination {
  current_Page: number;
  total_Pages: number;
  page_Size: number;
  total_Count: number;
  has_Previous: boolean;
  has_Next: boolean;
}

export interface IpaasErrorBody {
  status: number;
  title: string;
  message: string;
  errors: { field: string; message: string }[];
}

/** The notification `type` of a record's module ([C] 'Customer'; [D] 'Product' by the same rule). */
export type WebhookRecordType = 'Customer' | 'Product';

export interface IpaasWebhookNotification {
  action: 'created' | 'updated' | 'deleted';
  id: string;
  external_id: null;
  destination: null;
  scope: string;
  type: WebhookRecordType;
  tracking_guid: string;
}

export interface IpaasWebhookPayload {
  id: number;
  attempt: number;
  notifications: IpaasWebhookNotification[];
}

// ---------- test instrumentation ----------

export interface IpaasCounters {
  requests: number;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  customerReads: number;
  customerWrites: number;
  /** GET Product/:id and each Products page. */
  productReads: number;
  /** Successful POST / PUT of a product (API calls only, like customerWrites). */
  productWrites: number;
  webhookDeliveries: number;
}

export type IpaasFault =
  | { route?: string; status: 429 | 500 | 502 | 503 | 504; times?: number; retryAfterSeconds?: number }
  | { route?: string; kind: 'timeout'; times?: number };

/** A queued fault and how many more matching requests it will hit. */
export interface IpaasPendingFault {
  fault: IpaasFault;
  remaining: number;
}

export interface WebhookDeliveryRecord {
  delivery_id: number;
  attempt: number;
  scope: string;
  /** The record's module and id (the notification's `type` and `id`). */
  type: WebhookRecordType;
  record_id: number;
  /** Set for customer events (= record_id); kept so existing callers read it as before. */
  customer_id?: number;
  /** Set for product events (= record_id). */
  product_id?: number;
  url: string;
  /** HTTP status of the receiver, null on network error/timeout. */
  status: number | null;
  error?: string;
  /** true when the receiver answered 2xx. */
  ok: boolean;
  /** ISO time the attempt finished. */
  at: string;
  /** ISO time of the scheduled next attempt, when one was scheduled. */
  next_attempt_at?: string;
}
