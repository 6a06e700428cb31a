/**
 * Public types of the iPaaS.com emulator: options, the API's snake_case JSON shapes,
 * counters, faults and webhook delivery records.
 */
import type { SampleCustomer } from '../sample-customers.js';

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

export interface CustomFieldSeed {
  name: string;
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
  /** Custom field definitions seeded for module Customer; default none. */
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

export interface IpaasCustomFieldJson {
  id: number;
  name: string;
  module: 'Customer';
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

export interface IpaasWebhookNotification {
  action: 'created' | 'updated' | 'deleted';
  id: string;
  external_id: null;
  destination: null;
  scope: string;
  type: 'Customer';
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
  customer_id: number;
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
