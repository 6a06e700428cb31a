import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { endReview } from '../queue/review.js';
import { checkAdmin } from './auth.js';
import { HttpError } from './http-errors.js';
import { parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const jobIds = z.array(z.number({ error: 'job ids are whole numbers' }).int().positive()).min(1, 'name at least one job id').max(3000);
const approveBody = z.union([z.object({ all: z.literal(true), by: z.string().trim().min(1).max(100).optional() }).strict(), z.object({ jobIds, by: z.string().trim().min(1).max(100).optional() }).strict()]);
const rejectBody = z.object({ jobIds, reason: z.string().trim().min(1, 'say why (kept in the sync log)').max(500), by: z.string().trim().min(1).max(100).optional() }).strict();

/** How many answers wait for a person and how long the oldest has waited (the Overview and the menu show it). */
export async function reviewWaiting(ctx: ServiceContext): Promise<{ waiting: number; oldestSince: string | null; oldestAgeSeconds: number | null }> {
  const s = await ctx.deps.store.queue.reviewSummary();
  if (s.oldestSince === null) return { waiting: s.waiting, oldestSince: null, oldestAgeSeconds: null };
  return { waiting: s.waiting, oldestSince: new Date(s.oldestSince).toISOString(), oldestAgeSeconds: Math.max(0, Math.round((ctx.deps.now().getTime() - s.oldestSince) / 1000)) };
}

/**
 * Review before write-back over HTTP (the Review page): the waiting answers with what they would
 * write, approve (the service's runner writes them, no new OpenAI call), reject (nothing written).
 */
export async function reviewRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.get('/api/review', async () => {
    const [waiting, summary] = await Promise.all([store.queue.reviews(), store.queue.reviewSummary()]);
    return {
      waiting: summary.waiting,
      oldestSince: summary.oldestSince === null ? null : new Date(summary.oldestSince).toISOString(),
      items: waiting.map((j) => ({ jobId: j.id, ref: j.ref, customerId: j.customerId, since: new Date(j.updatedAt).toISOString(), runId: j.runId, answer: j.answer })),
    };
  });

  app.get('/api/review/summary', async () => reviewWaiting(ctx));

  /** Each named job must wait for review: a 409 names the first that does not, and nothing is decided. */
  const waitingJobs = async (ids: number[]) => {
    const jobs = await Promise.all(ids.map((id) => store.queue.get(id)));
    const bad = jobs.findIndex((j) => !j || j.state !== 'review');
    if (bad >= 0) {
      const j = jobs[bad];
      throw new HttpError(j ? 409 : 404, j ? `Job ${ids[bad]} is ${j.state}, not waiting for review.` : `No job ${ids[bad]}.`, 'GET /api/review lists the answers waiting for review.');
    }
    return jobs.map((j) => j!);
  };

  app.post('/api/review/approve', async (req, reply) => {
    const body = parseInput(approveBody, req.body, 'approval');
    if ('jobIds' in body) await waitingJobs(body.jobIds);
    const by = body.by ?? 'dashboard';
    const approved = await store.queue.approveReviews('all' in body ? 'all' : body.jobIds, by);
    ctx.deps.logger.info({ jobIds: approved, by }, 'answers approved for write-back');
    ctx.pool.notify();
    return reply.code(202).send({ approved, by, statusUrls: approved.map((id) => `/api/jobs/${id}`) });
  });

  app.post('/api/review/reject', async (req) => {
    const body = parseInput(rejectBody, req.body, 'rejection');
    const by = body.by ?? 'dashboard';
    const jobs = await waitingJobs(body.jobIds);
    for (const j of jobs) await endReview(ctx.deps, j, `rejected by ${by}: ${body.reason}`);
    ctx.deps.logger.info({ jobIds: jobs.map((j) => j.id), by }, 'answers rejected');
    return { rejected: jobs.map((j) => j.id), by };
  });
}
