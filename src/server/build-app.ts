import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from './http-errors.js';
import { activityRoutes } from './routes-activity.js';
import { apiRoutes } from './routes-api.js';
import { reviewRoutes } from './routes-review.js';
import { trialRoutes } from './routes-trials.js';
import { dashboardApiRoutes } from './routes-dashboard-api.js';
import { dashboardRoutes } from './routes-dashboard.js';
import { healthRoutes } from './routes-health.js';
import { messageRoutes } from './routes-messages.js';
import { metricsRoutes } from './routes-metrics.js';
import { openaiWebhookRoutes } from './routes-openai-webhooks.js';
import { queueRoutes } from './routes-queue.js';
import { webhookRoutes } from './routes-webhooks.js';
import type { ServiceContext } from './service-context.js';

const ROUTES = new WeakMap<FastifyInstance, Array<{ method: string; url: string }>>();

/** Every route the app registered (HEAD twins left out): the OpenAPI test compares them with the document. */
export const routesOf = (app: FastifyInstance) => ROUTES.get(app) ?? [];

/** The HTTP side of `serve`: webhooks, the manual-sync API, the dashboard, metrics, status and health. Testable with app.inject(). */
export async function buildApp(ctx: ServiceContext): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.deps.config.server.bodyLimitBytes,
    // Behind a proxy iPaaS.com reaches us through TLS; we never trust client-supplied forwarding headers here.
    trustProxy: false,
  });
  const routes: Array<{ method: string; url: string }> = [];
  ROUTES.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url });
  });
  installErrorHandler(app, ctx.deps.redact, ctx.deps.logger);
  // One structured line per request (method, path, status, time; never headers or bodies): state changes
  // and errors at info, the page's polling at debug so it does not flood the log.
  app.addHook('onResponse', async (req, reply) => {
    const line = { method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    const level = req.method !== 'GET' && req.method !== 'HEAD' ? 'info' : reply.statusCode >= 400 ? 'info' : 'debug';
    ctx.deps.logger[level](line, 'http request');
  });
  await app.register(async (scope) => webhookRoutes(scope, ctx));
  await app.register(async (scope) => openaiWebhookRoutes(scope, ctx));
  await app.register(async (scope) => apiRoutes(scope, ctx));
  await app.register(async (scope) => reviewRoutes(scope, ctx));
  await app.register(async (scope) => trialRoutes(scope, ctx));
  await app.register(async (scope) => queueRoutes(scope, ctx));
  await app.register(async (scope) => activityRoutes(scope, ctx));
  await app.register(async (scope) => messageRoutes(scope, ctx));
  await app.register(async (scope) => dashboardApiRoutes(scope, ctx));
  await app.register(async (scope) => healthRoutes(scope, ctx));
  await app.register(async (scope) => metricsRoutes(scope, ctx));
  await app.register(async (scope) => dashboardRoutes(scope));
  return app;
}
