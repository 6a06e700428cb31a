import type { FastifyInstance } from 'fastify';
import { checkAdmin } from './auth.js';
import type { ServiceContext } from './service-context.js';

/** GET /metrics: Prometheus text. Same rule as the API's reads: open on loopback, the admin token elsewhere. */
export async function metricsRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  app.get('/metrics', async (req, reply) => {
    checkAdmin(req, ctx.adminToken, ctx.loopbackOnly);
    const { contentType, body } = await ctx.metrics.render();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
  });
}
