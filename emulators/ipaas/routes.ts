/** The iPaaS.com endpoints the connector uses: SSO, customers, custom fields, webhooks. */
import type { FastifyInstance } from 'fastify';
import type { AuthService } from './auth.js';
import type { CustomFieldRegistry } from './custom-fields.js';
import { FILTER_FIELDS, type CustomerQuery, type CustomerStore } from './customer-store.js';
import { IpaasHttpError } from './errors.js';
import type { IpaasCounters, IpaasCustomerJson, IpaasPagination } from './types.js';
import type { WebhookRegistry } from './webhooks.js';

export interface RouteContext {
  auth: AuthService;
  store: CustomerStore;
  fields: CustomFieldRegistry;
  hooks: WebhookRegistry;
  counters: IpaasCounters;
  pageSize: number;
  /** Called after every successful create/update (fires webhooks). */
  onCustomerWritten(scope: 'customer/created' | 'customer/updated', customer: IpaasCustomerJson): void;
}

type Query = Record<string, string | string[] | undefined>;

function single(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function parseId(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
    throw new IpaasHttpError(400, `${what} id '${raw}' is not a valid id.`, [{ field: 'id', message: `'${raw}' is not a valid id.` }]);
  }
  return Number(raw);
}

function positiveInt(q: Query, key: string): number | undefined {
  const raw = single(q, key);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new IpaasHttpError(400, `Query parameter ${key} '${raw}' must be a positive integer.`, [
      { field: key, message: `${key} must be a positive integer.` },
    ]);
  }
  return Number(raw);
}

function parseListQuery(q: Query): CustomerQuery {
  const actionRaw = single(q, 'action');
  let action: CustomerQuery['action'] = 'equals';
  if (actionRaw !== undefined) {
    const a = actionRaw.toLowerCase();
    if (a !== 'equals' && a !== 'contains') {
      throw new IpaasHttpError(400, `Filter action '${actionRaw}' is not supported; use equals or contains.`, [
        { field: 'action', message: 'action must be equals or contains.' },
      ]);
    }
    action = a;
  }
  const filters: CustomerQuery['filters'] = [];
  for (const key of Object.keys(q)) {
    const field = (FILTER_FIELDS as Record<string, CustomerQuery['filters'][number]['field'] | undefined>)[key.toLowerCase()];
    const value = single(q, key);
    if (field && value !== undefined) filters.push({ field, value });
  }
  if (actionRaw !== undefined && filters.length === 0) {
    throw new IpaasHttpError(400, `Filter action '${actionRaw}' needs a field to filter on (CustomerNumber, EmailAddress, FirstName, LastName or Company).`);
  }
  const query: CustomerQuery = { action, filters };
  const since = single(q, 'updatedSince');
  if (since !== undefined && since !== '') {
    const t = Date.parse(since);
    if (Number.isNaN(t)) {
      throw new IpaasHttpError(400, `Query parameter updatedSince '${since}' is not a valid ISO-8601 datetime.`, [
        { field: 'updatedSince', message: 'updatedSince must be an ISO-8601 datetime.' },
      ]);
    }
    query.updatedSince = t;
  }
  return query;
}

export function registerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/sso/v2/Auth/Login', async (req) => ctx.auth.login(req.body));
  app.post('/sso/v2/Auth/Refresh', async (req) => ctx.auth.refresh(req.body));

  app.get<{ Params: { id: string } }>('/customers/v2/Customer/:id', async (req) => {
    const id = parseId(req.params.id, 'Customer');
    const c = ctx.store.get(id);
    if (!c) throw new IpaasHttpError(404, `Customer with id ${id} was not found.`);
    ctx.counters.customerReads += 1;
    return c;
  });

  app.get<{ Querystring: Query }>('/customers/v2/Customers', async (req, reply) => {
    const q = req.query;
    const pageNumber = positiveInt(q, 'pageNumber') ?? 1;
    const pageSize = Math.min(positiveInt(q, 'pageSize') ?? ctx.pageSize, ctx.pageSize);
    const { total, items } = ctx.store.query(parseListQuery(q), { offset: (pageNumber - 1) * pageSize, limit: pageSize });
    const totalPages = Math.ceil(total / pageSize);
    const pagination: IpaasPagination = {
      current_Page: pageNumber,
      total_Pages: totalPages,
      page_Size: pageSize,
      total_Count: total,
      has_Previous: pageNumber > 1,
      has_Next: pageNumber < totalPages,
    };
    ctx.counters.customerReads += 1;
    reply.header('X-Pagination', JSON.stringify(pagination));
    return items;
  });

  app.post('/customers/v2/Customer', async (req, reply) => {
    const c = ctx.store.create(req.body);
    ctx.counters.customerWrites += 1;
    ctx.onCustomerWritten('customer/created', c);
    return reply.code(201).send(c);
  });

  app.put<{ Params: { id: string } }>('/customers/v2/Customer/:id', async (req) => {
    const c = ctx.store.update(parseId(req.params.id, 'Customer'), req.body);
    ctx.counters.customerWrites += 1;
    ctx.onCustomerWritten('customer/updated', c);
    return c;
  });

  // [D] Definitions API (list, create, delete): paths by analogy with the customer routes.
  app.get<{ Querystring: Query }>('/customers/v2/CustomFields', async (req) => {
    const module = single(req.query, 'module');
    if (module !== undefined && module.toLowerCase() !== 'customer') return [];
    return ctx.fields.list();
  });

  app.post('/customers/v2/CustomField', async (req, reply) => reply.code(201).send(ctx.fields.create(req.body)));
  // [D] 204 like the webhook delete; 404 for an unknown id. What happens to held values: customer-store.ts.
  app.delete<{ Params: { id: string } }>('/customers/v2/CustomField/:id', async (req, reply) => {
    ctx.store.deleteCustomField(parseId(req.params.id, 'Custom field'));
    return reply.code(204).send();
  });

  app.get('/hookapi/v2/Webhooks', async () => ctx.hooks.list());
  app.post('/hookapi/v2/Webhook', async (req, reply) => reply.code(201).send(ctx.hooks.create(req.body)));
  app.delete<{ Params: { id: string } }>('/hookapi/v2/Webhook/:id', async (req, reply) => {
    ctx.hooks.delete(parseId(req.params.id, 'Webhook'));
    return reply.code(204).send();
  });
}
