/**
 * Custom field definitions API, one set of routes per module's service. [D] All of it: the customer
 * routes (GET /customers/v2/CustomFields?module=Customer, POST /customers/v2/CustomField,
 * DELETE /customers/v2/CustomField/{id}) are decided by analogy with the record routes, and the
 * product ones (under /products/v2/) by analogy with those. Each service lists, creates and deletes
 * only its own module's definitions: `?module=` naming another module lists nothing, a body naming
 * another module is a 400 that names the route to use, another module's id is a 404.
 */
import type { FastifyInstance } from 'fastify';
import type { CustomFieldRegistry } from './custom-fields.js';
import { IpaasHttpError } from './errors.js';
import { parseId, single, type Query } from './list-query.js';
import type { CustomFieldModule, IpaasCustomFieldJson } from './types.js';

export const CUSTOM_FIELD_SERVICES: Record<CustomFieldModule, string> = {
  Customer: '/customers/v2',
  Product: '/products/v2',
};

export interface CustomFieldRouteContext {
  fields: CustomFieldRegistry;
  /** Deletes a definition and the values records of its module hold; throws 404 when the module has no such id. */
  deleteCustomField(module: CustomFieldModule, id: number): IpaasCustomFieldJson;
}

export function registerCustomFieldRoutes(app: FastifyInstance, ctx: CustomFieldRouteContext, module: CustomFieldModule): void {
  const base = CUSTOM_FIELD_SERVICES[module];
  app.get<{ Querystring: Query }>(`${base}/CustomFields`, async (req) => {
    const wanted = single(req.query, 'module');
    if (wanted !== undefined && wanted.toLowerCase() !== module.toLowerCase()) return [];
    return ctx.fields.list(module);
  });
  app.post(`${base}/CustomField`, async (req, reply) => reply.code(201).send(ctx.fields.create(req.body, module)));
  // [D] 204 like the webhook delete; 404 for an unknown id. What happens to held values: the stores.
  app.delete<{ Params: { id: string } }>(`${base}/CustomField/:id`, async (req, reply) => {
    ctx.deleteCustomField(module, parseId(req.params.id, 'Custom field'));
    return reply.code(204).send();
  });
}

/** The 404 for a definition id its module does not have. */
export function unknownCustomFieldId(module: CustomFieldModule, id: number): IpaasHttpError {
  return new IpaasHttpError(
    404,
    `Custom field with id ${id} was not found; list the definitions with GET ${CUSTOM_FIELD_SERVICES[module]}/CustomFields?module=${module}.`,
  );
}
