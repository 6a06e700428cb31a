import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MESSAGE_OUTCOMES, type StoredMessage } from '../store/ports.js';
import { checkAdmin } from './auth.js';
import { paging, parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A Message as the API and the page show it (the body as received, redacted by the store). */
export const messageView = (m: StoredMessage) => ({
  id: m.id, webhookId: m.webhookId, eventType: m.eventType, eventId: m.eventId, sourceId: m.sourceId,
  receivedAt: iso(m.receivedAt), outcome: m.outcome, detail: m.detail, lines: m.lines, actedAt: iso(m.actedAt),
  replays: m.replays, lastReplayAt: iso(m.lastReplayAt), instance: m.instance, body: m.body,
});

const messagesQuery = z.object({
  outcome: z.enum(MESSAGE_OUTCOMES, { error: `give one of ${MESSAGE_OUTCOMES.join(', ')}` }).optional(),
  sourceId: z.string().trim().min(1, 'give a batch or response id').max(200, 'at most 200 characters').optional(),
  ...paging(200, 25),
});

/** GET /api/messages: the inbound OpenAI webhooks, each as its Message record, newest first. */
export async function messageRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.get('/api/messages', async (req) => {
    const q = parseInput(messagesQuery, req.query, 'messages query');
    const page = await ctx.deps.store.messages.list(q);
    return { total: page.total, limit: q.limit, offset: q.offset, messages: page.items.map(messageView) };
  });
}
