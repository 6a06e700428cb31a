import type { FastifyInstance } from 'fastify';
import { checkSignature, checkWebhookAuth } from './auth.js';
import { HttpError } from './http-errors.js';
import type { ServiceContext } from './service-context.js';
import { takeInWebhook, unknownScopes, webhookBodySchema } from '../triggers/webhook-intake.js';

/** POST /webhooks/ipaas: iPaaS.com's outbound webhooks (Customer Create / Update). */
export async function webhookRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  // The signature covers the exact bytes, so this scope keeps the raw body.
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: ctx.deps.config.server.bodyLimitBytes }, (_req, body, done) => done(null, body));

  app.post('/webhooks/ipaas', async (req, reply) => {
    checkWebhookAuth(req, ctx.deps.config.server.webhookApiKey);
    // The store cannot write any more (serve is exiting): refuse before trying, so nothing is half-taken.
    if (ctx.storeFault) throw ctx.storeFault;
    const raw = typeof req.body === 'string' ? req.body : '';
    checkSignature(req, raw, ctx.deps.config.server.webhookHmacSecret);
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'The body is not valid JSON.', 'Send iPaaS.com\'s webhook body: {"id", "attempt", "notifications": [...]}.');
    }
    const parsed = webhookBodySchema.safeParse(json);
    if (!parsed.success) {
      throw new HttpError(400, `The webhook body does not have iPaaS.com's shape: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`);
    }
    const bad = unknownScopes(parsed.data);
    if (bad.length) throw new HttpError(400, `Unknown scope ${bad.map((s) => `"${s}"`).join(', ')}: this connector takes customer/created, customer/updated, customer/deleted, product/created, product/updated and product/deleted (optionally /debug).`);
    const result = await takeInWebhook(ctx.deps.store, ctx.deps.config, parsed.data, ctx.deps.now, ctx.deps.redact);
    // In the connector's own log (Fastify's request logger is off): duplicates and deletions included.
    for (const e of result.enqueued) if (!e.coalesced) ctx.deps.logger.info({ deliveryId: String(parsed.data.id), customerId: e.customerId, jobId: e.jobId, state: 'pending' }, 'webhook event queued');
    for (const s of result.skipped) ctx.deps.logger.info({ deliveryId: String(parsed.data.id), attempt: parsed.data.attempt, customerId: s.customerId, reason: s.reason }, 'webhook event skipped');
    ctx.pool.notify();
    // Acknowledged only now: the jobs are committed to the store.
    return reply.code(200).send(result);
  });
}
