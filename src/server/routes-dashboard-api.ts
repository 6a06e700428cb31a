import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ACTIVE_STATES } from '../queue/job-states.js';
import { redactDeep } from '../shared/redact.js';
import { validateSetup } from '../checks/validate.js';
import { checkAdmin } from './auth.js';
import { configView } from './config-view.js';
import { reviewWaiting } from './routes-review.js';
import { queueDepth } from './queue-history.js';
import { HttpError } from './http-errors.js';
import { isoDate, parseInput, rangeParam, rangeStart } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const overviewQuery = z.object({ range: rangeParam(['1h', '24h', '7d'], '24h'), dayStart: isoDate.optional() });
const usageQuery = z.object({ range: rangeParam(['24h', '7d', '30d'], '7d') });

function localMidnight(now: Date): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

/** The API behind the dashboard: overview, usage over time, retry of one record, validation and the configuration. */
export async function dashboardApiRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store, config } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  // Lets the page tell a wrong admin token from a right one before it is needed.
  app.post('/api/auth/check', async () => ({ ok: true }));

  // Records (customers, by their latest attempt) and attempts (tries) are told apart in every key.
  app.get('/api/overview', async (req) => {
    const q = parseInput(overviewQuery, req.query, 'overview query');
    const now = ctx.deps.now();
    const { since, bucketMs, buckets } = rangeStart(q.range, now);
    const dayStart = q.dayStart ? new Date(q.dayStart) : localMidnight(now);
    const counts = await store.queue.counts();
    const snap = ctx.deps.limiter.snapshot();
    await ctx.queueHistory.sample(now.getTime());
    const [attempts, day, records, paused, review, promptVersions] = await Promise.all([
      ctx.queries.outcomeSeries(since, bucketMs, buckets), ctx.queries.dayTotals(dayStart), ctx.queries.recordCounts(), ctx.pool.pausedReason(),
      reviewWaiting(ctx), ctx.queries.promptVersionOutcomes(since.toISOString()),
    ]);
    return {
      generatedAt: now.toISOString(),
      range: q.range,
      since: since.toISOString(),
      bucketMs,
      series: { attempts, queueDepthJobs: ctx.queueHistory.series(since.getTime(), bucketMs, buckets) },
      today: { since: dayStart.toISOString(), ...day },
      records,
      queue: { depthJobs: queueDepth(counts), jobs: counts },
      rateLimit: { ...snap, pausedUntil: snap.pausedUntil ? new Date(snap.pausedUntil).toISOString() : null },
      upstream: ctx.metrics.upstreamSummary(),
      workers: { running: ctx.pool.isRunning(), busy: ctx.pool.busy, concurrency: config.jobs.concurrency, paused: paused ?? null },
      // Spend so far this UTC day and month against the caps (budget.*), and the jobs that wait for them.
      // Answers waiting for a person before write-back (review required), and the oldest one's wait.
      review,
      // The range's attempts by the PromptText version they were built from (the text redacted, kept once).
      promptVersions,
      budget: { ...(ctx.deps.budget?.snapshot() ?? { caps: {}, today: { tokens: 0, usd: 0 }, month: { tokens: 0, usd: 0 } }), heldJobs: counts.held },
      startedAt: ctx.startedAt.toISOString(),
    };
  });

  app.get('/api/usage', async (req) => {
    const q = parseInput(usageQuery, req.query, 'usage query');
    const { since, bucketMs, buckets } = rangeStart(q.range, ctx.deps.now());
    return { range: q.range, since: since.toISOString(), bucketMs, ...(await ctx.queries.usageSeries(since, bucketMs, buckets)) };
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
