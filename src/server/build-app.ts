import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from './http-errors.js';
import { apiRoutes } from './routes-api.js';
import { healthRoutes } from './routes-health.js';
import { webhookRoutes } from './routes-webhooks.js';
import type { ServiceContext } from './service-context.js';

/** The HTTP side of `serve`: webhooks, the manual-sync API, status and health. Testable with app.inject(). */
export async function buildApp(ctx: ServiceContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.deps.config.server.bodyLimitBytes,
    // Behind a proxy iPaaS.com reaches us through TLS; we never trust client-supplied forwarding headers here.
    trustProxy: false,
  });
  installErrorHandler(app, ctx.deps.redact);
  await app.register(async (scope) => webhookRoutes(scope, ctx));
  await app.register(async (scope) => apiRoutes(scope, ctx));
  await app.register(async (scope) => healthRoutes(scope, ctx));
  return app;
}
