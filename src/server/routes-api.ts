import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { triggerLabel, type JobTrigger } from '../queue/trigger.js';
import { ENTITY_NAMES, recordKeyOf } from '../ipaas/entities.js';
import { checkAdmin } from './auth.js';
import { HttpError } from './http-errors.js';
import { paging, parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const syncBody = z
  .object({
    customerNumbers: z.array(z.string().trim().min(1, 'a CustomerNumber cannot be empty').max(100, 'a CustomerNumber is at most 100 characters'), { error: 'give a list of CustomerNumbers' }).default([]),
    ids: z.array(z.union([z.string().trim().regex(/^\d{1,40}$/, 'an iPaaS.com id is a number, e.g. 12345'), z.number().int().nonnegative()], { error: 'an iPaaS.com id is a number, e.g. 12345' }), { error: 'give a list of iPaaS.com ids' }).default([]),
    debug: z.boolean({ error: 'give true or false' }).default(false),
    entity: z.enum(ENTITY_NAMES, { error: `give one of ${ENTITY_NAMES.join(', ')}` }).default('customer').describe('customerNumbers are SKUs for products'),
  })
  .strict();
const retryBody = z.object({ jobIds: z.array(z.number().int().positive(), { error: 'give job ids as a list of positive whole numbers' }).optional() }).strict();
const attemptsQuery = z.object({
  customerNumber: z.string().trim().min(1).max(200).optional(),
  outcome: z.enum(['synced', 'failed', 'skipped'], { error: 'give one of synced, failed, skipped' }).optional(),
  ...paging(500, 50),
});

/** The manual-sync API, retries and whole attempts, as iPaaS.com's Manual Sync and monitoring pages offer them. */
export async function apiRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store, config } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.post('/api/sync', async (req, reply) => {
    if (ctx.storeFault) throw ctx.storeFault;
    const body = parseInput(syncBody, req.body, 'manual sync request');
    const refs = [
      ...body.customerNumbers.map((ref) => ({ ref, refKind: 'number' as const })),
      ...body.ids.map((id) => ({ ref: String(id), refKind: 'id' as const })),
    ];
    const unique = [...new Map(refs.map((r) => [`${r.refKind}:${r.ref}`, r])).values()];
    if (unique.length === 0) throw new HttpError(400, 'Name at least one customer in customerNumbers or ids.', 'Send {"customerNumbers": ["CUST-10045"]} or, for a customer without a number, {"ids": [12345]}.');
    if (unique.length > config.sync.maxIdsPerRun) {
      throw new HttpError(400, `${unique.length} customers were given; a manual sync takes at most ${config.sync.maxIdsPerRun}.`, 'Split the list, as on iPaaS.com\'s Manual Sync page.');
    }
    const runId = randomUUID();
    const trigger: JobTrigger = { source: 'manual', debug: !!body.debug, ...(body.entity !== 'customer' ? { entity: body.entity } : {}) };
    // Debug jumps the queue, as on iPaaS.com.
    await store.queue.enqueueMany(unique.map((r) => ({ ...r, customerId: r.refKind === 'id' ? recordKeyOf(body.entity, r.ref) : null, trigger, priority: body.debug ? 10 : 5, maxAttempts: config.jobs.maxAttempts, runId })));
    ctx.pool.notify();
    ctx.deps.logger.info({ runId, customers: unique.length, trigger: triggerLabel(trigger) }, 'manual run queued');
    return reply.code(202).send({ runId, enqueued: unique.length, statusUrl: `/api/runs/${runId}` });
  });

  app.post('/api/retry', async (req) => {
    const body = parseInput(retryBody, req.body, 'retry request');
    // Each failed record once (by its latest outcome), or the named jobs; as the CLI's retry does.
    const requeued = body.jobIds
      ? { requeuedJobs: await store.queue.retryFailed(body.jobIds) }
      : { requeuedRecords: await store.queue.retryRecords(await store.log.records('failed'), config.jobs.maxAttempts) };
    // A quota stop ends when a person asks to retry (after adding credit): its held jobs go back too.
    const releasedJobs = await ctx.pool.resume();
    ctx.pool.notify();
    return { ...requeued, releasedJobs };
  });

  app.get('/api/attempts', async (req) => {
    const q = parseInput(attemptsQuery, req.query, 'attempts query');
    return { attempts: await store.log.list(q) };
  });

  app.get<{ Params: { id: string } }>('/api/attempts/:id', async (req) => {
    const a = await store.log.get(Number(req.params.id));
    if (!a) throw new HttpError(404, `No sync attempt ${req.params.id}.`, 'Pick an attempt from GET /api/activity.');
    return a;
  });
}
