import { z } from 'zod';
import { ConnectorError, UpstreamError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';
import {
  customFieldDefinitionSchema,
  paginationSchema,
  remoteCustomerSchema,
  toCustomer,
  webhookSchema,
  type Customer,
  type CustomerPatch,
  type CustomFieldDefinition,
  type Pagination,
  type WebhookSubscription,
} from './customer-model.js';
import { IpaasTransport } from './transport.js';

export interface IpaasClientOptions {
  baseUrl: string;
  apiKey?: string | undefined;
  login?: { email: string; password?: string | undefined } | undefined;
  timeoutMs: number;
  maxRetries: number;
  throttlePerSecond?: number | undefined;
  redact: Redactor;
}

const loginSchema = z.object({ access_token: z.string(), access_token_expiration: z.string().optional(), refresh_token: z.string().optional() }).loose();

export interface CustomerPage {
  customers: Customer[];
  pagination: Pagination;
}

export type CustomerFilter = Partial<Record<'CustomerNumber' | 'EmailAddress' | 'FirstName' | 'LastName' | 'Company', string>>;

function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    throw new ConnectorError('IPAAS_REQUEST_FAILED', `iPaaS.com request failed. Unexpected ${what} shape: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      fix: 'Check ipaas.baseUrl points at the iPaaS.com API (e.g. https://api.ipaas.com).',
    });
  }
  return r.data;
}

/** The iPaaS.com API as the connector uses it: customers, custom field definitions, webhooks. */
export class IpaasClient {
  private readonly http: IpaasTransport;
  private token: string | undefined;
  private tokenExpiresAt = 0;
  private refreshToken: string | undefined;

  constructor(private readonly opts: IpaasClientOptions) {
    if (!opts.apiKey && !(opts.login?.email && opts.login.password)) {
      throw new ConnectorError('CONFIG_INVALID', 'No iPaaS.com credentials configured.', {
        fix: 'Set IPAAS_API_KEY (an API key from the iPaaS.com UI), or IPAAS_EMAIL and IPAAS_PASSWORD, or run `ipaas-openai demo` to try the connector against the built-in emulators.',
      });
    }
    this.http = new IpaasTransport({ ...opts });
    this.token = opts.apiKey;
  }

  private async bearer(): Promise<string> {
    if (this.opts.apiKey) return this.opts.apiKey;
    if (this.token && Date.now() < this.tokenExpiresAt - 60_000) return this.token;
    const login = this.opts.login!;
    let res;
    if (this.refreshToken) {
      try {
        res = await this.http.request('POST', '/sso/v2/Auth/Refresh', { body: { refresh_token: this.refreshToken } });
      } catch {
        res = undefined; // fall back to a fresh login
      }
    }
    res ??= await this.http.request('POST', '/sso/v2/Auth/Login', { body: { email_address: login.email, password: login.password } });
    const body = parseOrThrow(loginSchema, res.body, 'login response');
    this.token = body.access_token;
    this.refreshToken = body.refresh_token;
    const exp = body.access_token_expiration ? Date.parse(body.access_token_expiration) : NaN;
    this.tokenExpiresAt = Number.isFinite(exp) ? exp : Date.now() + 3_600_000;
    return this.token;
  }

  private async call(method: string, path: string, body?: unknown) {
    const token = await this.bearer();
    try {
      return await this.http.request(method, path, { token, body });
    } catch (err) {
      // A session token can expire early (revoked): log in again once.
      if (err instanceof UpstreamError && err.status === 401 && !this.opts.apiKey) {
        this.token = undefined;
        this.tokenExpiresAt = 0;
        return this.http.request(method, path, { token: await this.bearer(), body });
      }
      throw err;
    }
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    return this.http.close();
  }

  async getCustomer(id: string): Promise<Customer | undefined> {
    try {
      const res = await this.call('GET', `/customers/v2/Customer/${encodeURIComponent(id)}`);
      return toCustomer(parseOrThrow(remoteCustomerSchema, res.body, 'customer'));
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 404) return undefined;
      throw err;
    }
  }

  async listCustomers(page: number, options: { pageSize?: number; filter?: CustomerFilter; updatedSince?: string } = {}): Promise<CustomerPage> {
    const q = new URLSearchParams({ pageNumber: String(page) });
    if (options.pageSize) q.set('pageSize', String(options.pageSize));
    const filter = Object.entries(options.filter ?? {});
    if (filter.length) {
      q.set('action', 'equals');
      for (const [k, v] of filter) if (v !== undefined) q.set(k, v);
    }
    if (options.updatedSince) q.set('updatedSince', options.updatedSince);
    const res = await this.call('GET', `/customers/v2/Customers?${q}`);
    const customers = parseOrThrow(z.array(remoteCustomerSchema), res.body, 'customer list').map(toCustomer);
    const header = res.headers.get('x-pagination');
    let pagination: Pagination = { current_Page: page, total_Pages: page };
    if (header) {
      try {
        pagination = parseOrThrow(paginationSchema, JSON.parse(header), 'X-Pagination header');
      } catch (err) {
        if (err instanceof ConnectorError) throw err;
        throw new ConnectorError('IPAAS_REQUEST_FAILED', `iPaaS.com request failed. The X-Pagination header is not JSON: ${header.slice(0, 200)}`);
      }
    }
    return { customers, pagination };
  }

  /** Streams every customer page by page; memory holds one page at a time. */
  async *allCustomers(options: { pageSize?: number; filter?: CustomerFilter } = {}): AsyncGenerator<Customer> {
    for (let page = 1; ; page++) {
      const { customers, pagination } = await this.listCustomers(page, options);
      yield* customers;
      if (page >= pagination.total_Pages || customers.length === 0) return;
    }
  }

  async findCustomerByNumber(customerNumber: string): Promise<Customer | undefined> {
    const { customers } = await this.listCustomers(1, { filter: { CustomerNumber: customerNumber } });
    // The filter matches case-insensitively; the identity is exact.
    return customers.find((c) => c.customerNumber === customerNumber) ?? customers.find((c) => c.customerNumber?.toLowerCase() === customerNumber.toLowerCase());
  }

  async updateCustomer(id: string, patch: CustomerPatch): Promise<Customer> {
    const res = await this.call('PUT', `/customers/v2/Customer/${encodeURIComponent(id)}`, patch);
    return toCustomer(parseOrThrow(remoteCustomerSchema, res.body, 'customer'));
  }

  async listCustomFields(): Promise<CustomFieldDefinition[]> {
    const res = await this.call('GET', '/customers/v2/CustomFields?module=Customer');
    return parseOrThrow(z.array(customFieldDefinitionSchema), res.body, 'custom field list');
  }

  async createCustomField(def: { name: string; data_type: string; description?: string | undefined }): Promise<CustomFieldDefinition> {
    const res = await this.call('POST', '/customers/v2/CustomField', { ...def, module: 'Customer' });
    return parseOrThrow(customFieldDefinitionSchema, res.body, 'custom field');
  }

  async listWebhooks(): Promise<WebhookSubscription[]> {
    const res = await this.call('GET', '/hookapi/v2/Webhooks');
    return parseOrThrow(z.array(webhookSchema), res.body, 'webhook list');
  }
}
