/**
 * The products service: [C] base path `/products` (the development utility's configuration); [D] the
 * routes by analogy with the customer ones, with the same error bodies, paging and filters:
 * GET|PUT /products/v2/Product/{id}, POST /products/v2/Product, GET /products/v2/Products.
 */
import type { FastifyInstance } from 'fastify';
import { IpaasHttpError } from './errors.js';
import { pageOf, pagination, parseId, parseListQuery, type Query } from './list-query.js';
import { PRODUCT_FILTER_FIELDS, type ProductStore } from './product-store.js';
import type { IpaasCounters, IpaasProductJson } from './types.js';

export interface ProductRouteContext {
  products: ProductStore;
  counters: IpaasCounters;
  pageSize: number;
  /** Called after every successful create/update (fires webhooks). */
  onProductWritten(scope: 'product/created' | 'product/updated', product: IpaasProductJson): void;
}

export function registerProductRoutes(app: FastifyInstance, ctx: ProductRouteContext): void {
  app.get<{ Params: { id: string } }>('/products/v2/Product/:id', async (req) => {
    const id = parseId(req.params.id, 'Product');
    const p = ctx.products.get(id);
    if (!p) throw new IpaasHttpError(404, `Product with id ${id} was not found.`);
    ctx.counters.productReads += 1;
    return p;
  });

  app.get<{ Querystring: Query }>('/products/v2/Products', async (req, reply) => {
    const page = pageOf(req.query, ctx.pageSize);
    const query = parseListQuery(req.query, PRODUCT_FILTER_FIELDS, 'Sku or Name');
    const { total, items } = ctx.products.query(query, { offset: page.offset, limit: page.pageSize });
    ctx.counters.productReads += 1;
    reply.header('X-Pagination', JSON.stringify(pagination(page.pageNumber, page.pageSize, total)));
    return items;
  });

  app.post('/products/v2/Product', async (req, reply) => {
    const p = ctx.products.create(req.body);
    ctx.counters.productWrites += 1;
    ctx.onProductWritten('product/created', p);
    return reply.code(201).send(p);
  });

  app.put<{ Params: { id: string } }>('/products/v2/Product/:id', async (req) => {
    const p = ctx.products.update(parseId(req.params.id, 'Product'), req.body);
    ctx.counters.productWrites += 1;
    ctx.onProductWritten('product/updated', p);
    return p;
  });
}
