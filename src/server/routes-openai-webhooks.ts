import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InvalidWebhookSignatureError } from 'openai';
import { ENV } from '../config/load-config.js';
import { openaiEventSchema, messageOf } from '../triggers/openai-webhook.js';
import { HttpError } from './http-errors.js';
import { MessageActions } from './message-actions.js';
import type { ServiceContext } from './service-context.js';

/** Standard Webhooks' tolerance, the SDK's default: a webhook-timestamp further off than this is refused. */
export const WEBHOOK_TOLERANCE_S = 300;
/** How long stopping serve waits for a batch being applied to reach a line boundary. */
const ACT_GRACE_MS = 5_000;

const HEADERS_FIX = "Only OpenAI's signed deliveries are accepted: webhook-id, webhook-timestamp and webhook-signature (Standard Webhooks).";

/** The SDK's verdict on a delivery as the HTTP answer: 400 for anything not signed right, so nothing changes. */
function refusal(err: unknown): HttpError {
  if (err instanceof InvalidWebhookSignatureError) {
    return new HttpError(
      400,
      `The OpenAI webhook is refused: ${err.message}.`,
      `Check that ${ENV.openaiWebhookSecret} is the signing secret of this endpoint at OpenAI (restart serve after rotating it) and that this host's clock is right: a webhook-timestamp more than ${WEBHOOK_TOLERANCE_S} s off is refused.`,
    );
  }
  if (err instanceof SyntaxError) return new HttpError(400, 'The OpenAI webhook is signed but its body is not JSON.', 'Send the event body exactly as OpenAI signed it.');
  if (err instanceof Error && /^Missing required header/.test(err.message)) return new HttpError(400, `The OpenAI webhook is refused: ${err.message}.`, HEADERS_FIX);
  throw err;
}

const header = (req: FastifyRequest, name: string) => [req.headers[name]].flat()[0] ?? '';

/**
 * POST /webhooks/openai: OpenAI's webhooks (batch.*, response.*), verified with the SDK's verifier over
 * the raw body, stored as a Message (once per webhook-id), acknowledged, then acted on.
 */
export async function openaiWebhookRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  // The signature covers the exact bytes, so this scope (this route only) keeps the body as text.
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: ctx.deps.config.server.bodyLimitBytes }, (_req, body, done) => done(null, body));
  const actions = new MessageActions(ctx.deps, ctx.plans, () => ctx.pool.notify());
  app.addHook('onClose', async () => actions.close(ACT_GRACE_MS));

  app.post('/webhooks/openai', async (req, reply) => {
    const secret = ctx.deps.config.openai.webhookSecret;
    // Not 500, and not acknowledged: OpenAI delivers the event again (for up to 72 h) once the secret is set.
    if (!secret) {
      throw new HttpError(
        503,
        'OpenAI webhooks are not accepted here: no signing secret is configured.',
        `Set ${ENV.openaiWebhookSecret} (or openai.webhookSecret) to the signing secret (whsec_…) OpenAI showed for this endpoint, then restart serve; OpenAI delivers the refused events again.`,
      );
    }
    if (ctx.storeFault) throw ctx.storeFault;
    const raw = typeof req.body === 'string' ? req.body : '';
    let json: unknown;
    try {
      json = await ctx.deps.openai.webhooks.unwrap(raw, req.headers as Record<string, string>, secret, WEBHOOK_TOLERANCE_S);
    } catch (err) {
      throw refusal(err);
    }
    const event = openaiEventSchema.safeParse(json);
    if (!event.success) {
      throw new HttpError(400, `The OpenAI webhook is not an event: ${event.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}.`, 'Send OpenAI\'s event body: {"id", "object": "event", "type", "created_at", "data": {"id"}}.');
    }
    const webhookId = header(req, 'webhook-id');
    const { message, replay } = await ctx.deps.store.messages.record(messageOf(webhookId, event.data, raw));
    const line = { messageId: message.id, webhookId, type: message.eventType };
    if (replay) {
      // Stored and acted on (or being acted on) already: a 200 so that OpenAI stops delivering it.
      ctx.deps.logger.info({ ...line, replays: message.replays }, 'openai webhook replay ignored');
      return reply.code(200).send({ messageId: message.id, webhookId, replay: true, outcome: message.outcome, detail: 'This webhook-id was received before: ignored.' });
    }
    ctx.deps.logger.info(line, 'openai webhook received');
    actions.start(message);
    return reply.code(200).send({ messageId: message.id, webhookId, replay: false, outcome: 'received' });
  });
}
