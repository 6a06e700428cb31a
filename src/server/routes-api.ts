import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { JOB_STATES } from '../queue/job-states.js';
import { triggerLabel, type JobTrigger } from '../queue/trigger.js';
import type { Job } from '../store/ports.js';
import { checkAdmin } from './auth.js';
import { HttpError } from './http-errors.js';
import type { ServiceContext } from './service-context.js';

const syncBody = z
  .object({
    customerNumbers: z.array(z.string().trim().min(1).max(100)).default([]),
    ids: z.array(z.union([z.string().trim().min(1).max(40), z.number().int().nonnegative()])).default([]),
    debug: z.boolean().default(false),
  })
  .strict();
const retryBody = z.object({ jobIds: z.array(z.number().int().positive()).optional() }).strict();
const paging = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50), offset: z.coerce.number().int().min(0).default(0) });

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new HttpError(400, `Invalid ${what}: ${r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ')}.`);
  return r.data;
}

/** A job as the API shows it (the stored answer is summarised, not dumped). */
export function jobView(j: Job) {
  const answer = j.answer as { responseId?: string; answer?: unknown } | null;
  return {
    id: j.id, state: j.state, ref: j.ref, refKind: j.refKind, customerId: j.customerId, trigger: triggerLabel(j.trigger), priority: j.priority,
    attempts: j.attempts, maxAttempts: j.maxAttempts, runAfter: new Date(j.runAfter).toISOString(), coalesced: j.coalesced, runId: j.runId,
    lastError: j.lastError, lastErrorCode: j.lastErrorCode, lastErrorFix: j.lastErrorFix, lastAttemptId: j.lastAttemptId,
    responseId: answer?.responseId ?? null, answer: answer?.answer ?? null,
    createdAt: new Date(j.createdAt).toISOString(), updatedAt: new Date(j.updatedAt).toISOString(),
  };
}

/** The manual-sync API and job status, as iPaaS.com's Manual Sync and monitoring pages offer them. */
export async function apiRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store, config } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.post('/api/sync', async (req, reply) => {
    if (ctx.storeFault) throw ctx.storeFault;
    const body = parse(syncBody, req.body, 'manual sync request');
    const refs = [
      ...body.customerNumbers.map((ref) => ({ ref, refKind: 'number' as const })),
      ...body.ids.map((id) => ({ ref: String(id), refKind: 'id' as const })),
    ];
    const unique = [...new Map(refs.map((r) => [`${r.refKind}:${r.ref}`, r])).values()];
    if (unique.length === 0) throw new HttpError(400, 'Name at least one customer in customerNumbers or ids.');
    if (unique.length > config.sync.maxIdsPerRun) {
      throw new HttpError(400, `${unique.length} customers were given; a manual sync takes at most ${config.sync.maxIdsPerRun}.`, 'Split the list, as on iPaaS.com\'s Manual Sync page.');
    }
    const runId = randomUUID();
    const trigger: JobTrigger = { source: 'manual', debug: !!body.debug };
    // Debug jumps the queue, as on iPaaS.com.
    await store.queue.enqueueMany(unique.map((r) => ({ ...r, customerId: r.refKind === 'id' ? r.ref : null, trigger, priority: body.debug ? 10 : 5, maxAttempts: config.jobs.maxAttempts, runId })));
    ctx.pool.notify();
    return reply.code(202).send({ runId, enqueued: unique.length, statusUrl: `/api/runs/${runId}` });
  });

  app.get<{ Params: { runId: string } }>('/api/runs/:runId', async (req) => {
    const counts = await store.queue.counts(req.params.runId);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (total === 0) throw new HttpError(404, `No manual sync run ${req.params.runId}.`);
    const done = counts.written + counts.skipped + counts.failed;
    return { runId: req.params.runId, total, done, counts, finished: done === total, jobs: (await store.queue.list({ runId: req.params.runId, limit: 3000 })).map(jobView) };
  });

  app.get('/api/jobs', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const { limit, offset } = parse(paging, q, 'paging');
    const state = q.state ? parse(z.enum(JOB_STATES), q.state, 'state') : undefined;
    return { counts: await store.queue.counts(), jobs: (await store.queue.list({ state, limit, offset })).map(jobView) };
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (req) => {
    const job = await store.queue.get(Number(req.params.id));
    if (!job) throw new HttpError(404, `No job ${req.params.id}.`);
    return jobView(job);
  });

  app.post('/api/retry', async (req) => {
    const body = parse(retryBody, req.body, 'retry request');
    // Each failed record once (D2), or the named jobs; as the CLI's retry does.
    let requeued = body.jobIds ? await store.queue.retryFailed(body.jobIds) : await store.queue.retryRecords(await store.log.records('failed'), ctx.deps.config.jobs.maxAttempts);
    // A quota stop ends when a person asks to retry (after adding credit).
    requeued += await ctx.pool.resume();
    return { requeued };
  });

  app.get('/api/attempts', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const { limit, offset } = parse(paging, q, 'paging');
    const outcome = q.outcome ? parse(z.enum(['synced', 'failed', 'skipped']), q.outcome, 'outcome') : undefined;
    return { attempts: await store.log.list({ customerNumber: q.customerNumber, outcome, limit, offset }) };
  });

  app.get<{ Params: { id: string } }>('/api/attempts/:id', async (req) => {
    const a = await store.log.get(Number(req.params.id));
    if (!a) throw new HttpError(404, `No sync attempt ${req.params.id}.`);
    return a;
  });
}
