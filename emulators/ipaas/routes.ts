/** The iPaaS.com endpoints of the SSO, customers and webhook services (products: product-routes.ts). */
import type { FastifyInstance } from 'fastify';
import type { AuthService } from './auth.js';
import { FILTER_FIELDS, type CustomerStore } from './customer-store.js';
import { IpaasHttpError } from './errors.js';
import { pageOf, pagination, parseId, parseListQuery, type Query } from './list-query.js';
import type { IpaasCounters, IpaasCustomerJson } from './types.js';
import type { WebhookRegistry } from './webhooks.js';

export interface RouteContext {
  auth: AuthService;
  store: CustomerStore;
  hooks: WebhookRegistry;
  counters: IpaasCounters;
  pageSize: number;
  /** Called after every successful create/update (fires webhooks). */
  onCustomerWritten(scope: 'customer/created' | 'customer/updated', customer: IpaasCustomerJson): void;
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
    const page = pageOf(req.query, ctx.pageSize);
    const query = parseListQuery(req.query, FILTER_FIELDS, 'CustomerNumber, EmailAddress, FirstName, LastName or Company');
    const { total, items } = ctx.store.query(query, { offset: page.offset, limit: page.pageSize });
    ctx.counters.customerReads += 1;
    reply.header('X-Pagination', JSON.stringify(pagination(page.pageNumber, page.pageSize, total)));
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

  app.get('/hookapi/v2/Webhooks', async () => ctx.hooks.list());
  app.post('/hookapi/v2/Webhook', async (req, reply) => reply.code(201).send(ctx.hooks.create(req.body)));
  app.delete<{ Params: { id: string } }>('/hookapi/v2/Webhook/:id', async (req, reply) => {
    ctx.hooks.delete(parseId(req.params.id, 'Webhook'));
    return reply.code(204).send();
  });
}
