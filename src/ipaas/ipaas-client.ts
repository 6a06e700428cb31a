import { z } from 'zod';
import { ConnectorError, UpstreamError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';
import type { RateBudgetPort } from '../store/ports.js';
import { customFieldDefinitionSchema, paginationSchema, webhookSchema, type CustomFieldDefinition, type Pagination, type WebhookSubscription } from './api-shapes.js';
import { CUSTOMER, toRecord, type EntityModel, type IpaasRecord, type RecordPatch } from './entities.js';
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

export interface RecordPage {
  records: IpaasRecord[];
  pagination: Pagination;
}

/** The list's equals filter: query name -> value (CustomerNumber, EmailAddress, ... for customers; Sku, Name for products). */
export type RecordFilter = Record<string, string>;
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

/** The iPaaS.com API as the connector uses it: records of each data model (entities.ts), custom field definitions, webhooks. */
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

  /** Counts the API Throttle Limit over every instance sharing this budget (PostgreSQL). */
  shareThrottle(budget: RateBudgetPort, key: string): void {
    this.http.shareThrottle(budget, key);
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    return this.http.close();
  }

  async getRecord(model: EntityModel, id: string): Promise<IpaasRecord | undefined> {
    try {
      const res = await this.call('GET', model.paths.one(id));
      return toRecord(model, parseOrThrow(model.remote, res.body, model.name));
    } catch (err) {
      if (err instanceof UpstreamError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** One page of a model's records; `filter` takes the list's equals filter by field (CustomerNumber, Sku, ...). */
  async listRecords(model: EntityModel, page: number, options: { pageSize?: number; filter?: RecordFilter; updatedSince?: string } = {}): Promise<RecordPage> {
    const q = new URLSearchParams({ pageNumber: String(page) });
    if (options.pageSize) q.set('pageSize', String(options.pageSize));
    const filter = Object.entries(options.filter ?? {});
    if (filter.length) {
      q.set('action', 'equals');
      for (const [k, v] of filter) if (v !== undefined) q.set(k, v);
    }
    if (options.updatedSince) q.set('updatedSince', options.updatedSince);
    const res = await this.call('GET', `${model.paths.list}?${q}`);
    const records = parseOrThrow(z.array(model.remote), res.body, `${model.name} list`).map((r) => toRecord(model, r));
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
    return { records, pagination };
  }

  /** Streams every record of a model page by page; memory holds one page at a time. */
  async *allRecords(model: EntityModel, options: { pageSize?: number; filter?: RecordFilter } = {}): AsyncGenerator<IpaasRecord> {
    for (let page = 1; ; page++) {
      const { records, pagination } = await this.listRecords(model, page, options);
      yield* records;
      if (page >= pagination.total_Pages || records.length === 0) return;
    }
  }

  /** The record whose identity (CustomerNumber, SKU) is this. */
  async findByNumber(model: EntityModel, number: string): Promise<IpaasRecord | undefined> {
    const { records } = await this.listRecords(model, 1, { filter: { [model.identityFilter]: number } });
    // The filter matches case-insensitively; the identity is exact.
    return records.find((c) => c.number === number) ?? records.find((c) => c.number?.toLowerCase() === number.toLowerCase());
  }

  async updateRecord(model: EntityModel, id: string, patch: RecordPatch): Promise<IpaasRecord> {
    const res = await this.call('PUT', model.paths.one(id), patch);
    return toRecord(model, parseOrThrow(model.remote, res.body, model.name));
  }

  /** Custom field definitions of a model's module (Customer, Product). */
  async listCustomFields(model: EntityModel = CUSTOMER): Promise<CustomFieldDefinition[]> {
    const res = await this.call('GET', model.paths.customFields);
    return parseOrThrow(z.array(customFieldDefinitionSchema), res.body, 'custom field list');
  }

  async createCustomField(def: { name: string; data_type: string; description?: string | undefined }, model: EntityModel = CUSTOMER): Promise<CustomFieldDefinition> {
    const res = await this.call('POST', model.paths.customField, { ...def, module: model.label });
    return parseOrThrow(customFieldDefinitionSchema, res.body, 'custom field');
  }

  async listWebhooks(): Promise<WebhookSubscription[]> {
    const res = await this.call('GET', '/hookapi/v2/Webhooks');
    return parseOrThrow(z.array(webhookSchema), res.body, 'webhook list');
  }
}
