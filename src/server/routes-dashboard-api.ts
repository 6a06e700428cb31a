import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ACTIVE_STATES } from '../queue/job-states.js';
import { redactDeep } from '../shared/redact.js';
import { validateSetup } from '../checks/validate.js';
import { checkAdmin } from './auth.js';
import { configView } from './config-view.js';
import { queueDepth } from './queue-history.js';
import { HttpError } from './http-errors.js';
import type { ServiceContext } from './service-context.js';

const MIN = 60_000;
/** Chart ranges: bucket size and count, so every range draws a similar number of bars. */
export const RANGES = {
  '1h': { bucketMs: MIN, buckets: 60 },
  '24h': { bucketMs: 30 * MIN, buckets: 48 },
  '7d': { bucketMs: 240 * MIN, buckets: 42 },
} as const;

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s).toISOString());
const overviewQuery = z.object({ range: z.enum(['1h', '24h', '7d']).default('24h'), dayStart: isoDate.optional() });
const activityQuery = z.object({
  q: z.string().trim().max(200).optional(),
  customerNumber: z.string().trim().min(1).max(200).optional(),
  customerId: z.string().trim().min(1).max(200).optional(),
  requestedRef: z.string().trim().min(1).max(200).optional(),
  outcome: z.enum(['synced', 'skipped', 'failed']).optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(25),
  offset: z.coerce.number().int().min(0).default(0),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (!r.success) throw new HttpError(400, `Invalid ${what}: ${r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ')}.`, 'See /openapi.json for the accepted values.');
  return r.data;
}

function localMidnight(now: Date): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

/** The API behind the dashboard: overview, activity, retry of one record, validation and the configuration. */
export async function dashboardApiRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store, config } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  // Lets the page tell a wrong admin token from a right one before it is needed.
  app.post('/api/auth/check', async () => ({ ok: true }));

  app.get('/api/overview', async (req) => {
    const q = parse(overviewQuery, req.query, 'overview query');
    const now = ctx.deps.now();
    const { bucketMs, buckets } = RANGES[q.range];
    const since = new Date((Math.floor(now.getTime() / bucketMs) - buckets + 1) * bucketMs);
    const dayStart = q.dayStart ? new Date(q.dayStart) : localMidnight(now);
    const counts = await store.queue.counts();
    const snap = ctx.deps.limiter.snapshot();
    await ctx.queueHistory.sample(now.getTime());
    const [series, day, paused] = await Promise.all([ctx.queries.outcomeSeries(since, bucketMs, buckets), ctx.queries.dayTotals(dayStart), ctx.pool.pausedReason()]);
    return {
      generatedAt: now.toISOString(),
      range: q.range,
      since: since.toISOString(),
      bucketMs,
      series: { ...series, queued: ctx.queueHistory.series(since.getTime(), bucketMs, buckets) },
      today: { since: dayStart.toISOString(), ...day },
      queue: { depth: queueDepth(counts), counts },
      rateLimit: { ...snap, pausedUntil: snap.pausedUntil ? new Date(snap.pausedUntil).toISOString() : null },
      upstream: ctx.metrics.upstreamSummary(),
      workers: { running: ctx.pool.isRunning(), busy: ctx.pool.busy, concurrency: config.jobs.concurrency, paused: paused ?? null },
      // Spend so far this UTC day and month against the caps (budget.*), and what waits for them.
      budget: { ...(ctx.deps.budget?.snapshot() ?? { caps: {}, today: { tokens: 0, usd: 0 }, month: { tokens: 0, usd: 0 } }), held: counts.held },
      startedAt: ctx.startedAt.toISOString(),
    };
  });

  app.get('/api/activity', async (req) => {
    const q = parse(activityQuery, req.query, 'activity query');
    const page = await ctx.queries.activity(q);
    return { ...page, limit: q.limit, offset: q.offset };
  });

  app.post<{ Params: { id: string } }>('/api/attempts/:id/retry', async (req, reply) => {
    const attempt = await store.log.get(Number(req.params.id));
    if (!attempt) throw new HttpError(404, `No sync attempt ${req.params.id}.`, 'Pick an attempt from GET /api/activity.');
    const job = attempt.jobId ? await store.queue.get(attempt.jobId) : undefined;
    // A dead-lettered job resumes where it stopped (a stored answer is written without a new call).
    // As POST /api/retry: a person asking to retry ends a quota stop (credit was added).
    if (await ctx.pool.pausedReason()) await ctx.pool.resume();
    if (job?.state === 'failed') {
      await store.queue.retryFailed([job.id]);
      ctx.pool.notify();
      return reply.code(202).send({ mode: 'requeued', jobIds: [job.id], runId: job.runId, statusUrl: `/api/jobs/${job.id}` });
    }
    if (job && (job.state === 'pending' || ACTIVE_STATES.includes(job.state))) {
      throw new HttpError(409, `Job ${job.id} for this record is still ${job.state}: it will run without a retry.`, `Follow it at /api/jobs/${job.id}.`);
    }
    const ref = attempt.customerNumber
      ? { ref: attempt.customerNumber, refKind: 'number' as const, customerId: attempt.customerId }
      : attempt.customerId
        ? { ref: attempt.customerId, refKind: 'id' as const, customerId: attempt.customerId }
        : undefined;
    if (!ref) throw new HttpError(409, `Attempt ${attempt.id} names no customer that could be synced again.`, 'Start a manual sync with the right CustomerNumber.');
    const runId = randomUUID();
    const [r] = await store.queue.enqueueMany([{ ...ref, trigger: { source: 'retry' }, priority: 5, maxAttempts: config.jobs.maxAttempts, runId }]);
    ctx.pool.notify();
    return reply.code(202).send({ mode: 'enqueued', jobIds: [r!.job.id], runId, statusUrl: `/api/runs/${runId}` });
  });

  app.get('/api/validation', async () => {
    const results = await validateSetup({ config, ipaas: ctx.deps.ipaas, openai: ctx.deps.openai, redact: ctx.deps.redact });
    return redactDeep({ ok: results.every((r) => r.status !== 'fail'), checkedAt: ctx.deps.now().toISOString(), results }, ctx.deps.redact);
  });

  app.get('/api/config', async () => configView(config, ctx.deps.redact, { loopbackOnly: ctx.loopbackOnly, adminTokenGenerated: ctx.adminTokenGenerated }));
}
