import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { JOB_STATES, type JobState } from '../queue/job-states.js';
import { triggerLabel } from '../queue/trigger.js';
import type { Job, JobItem } from '../store/ports.js';
import { checkAdmin } from './auth.js';
import { HttpError } from './http-errors.js';
import { paging, parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** A job as the API shows it (the stored answer is summarised, not dumped). */
export function jobView(j: Job) {
  const answer = j.answer as { responseId?: string; answer?: unknown } | null;
  return {
    id: j.id, state: j.state, ref: j.ref, refKind: j.refKind, customerId: j.customerId, trigger: triggerLabel(j.trigger), priority: j.priority,
    attempts: j.attempts, maxAttempts: j.maxAttempts, runAfter: iso(j.runAfter), coalesced: j.coalesced, runId: j.runId,
    lastError: j.lastError, lastErrorCode: j.lastErrorCode, lastErrorFix: j.lastErrorFix, lastAttemptId: j.lastAttemptId,
    responseId: answer?.responseId ?? null, answer: answer?.answer ?? null,
    createdAt: iso(j.createdAt), updatedAt: iso(j.updatedAt),
  };
}

/** A job in the queue list: no answer; the instance that holds it while it runs. */
const jobItemView = (j: JobItem) => ({
  id: j.id, state: j.state, ref: j.ref, refKind: j.refKind, customerId: j.customerId, trigger: j.trigger, priority: j.priority,
  attempts: j.attempts, maxAttempts: j.maxAttempts, runAfter: iso(j.runAfter), runId: j.runId, heldBy: j.leaseOwner,
  lastError: j.lastError, lastErrorCode: j.lastErrorCode, lastErrorFix: j.lastErrorFix, lastAttemptId: j.lastAttemptId, holdReason: j.holdReason,
  createdAt: iso(j.createdAt), updatedAt: iso(j.updatedAt),
});

const DONE: readonly JobState[] = ['written', 'skipped', 'failed'];
const doneOf = (counts: Record<JobState, number>) => DONE.reduce((n, s) => n + counts[s], 0);

const jobsQuery = z.object({
  state: z.enum(JOB_STATES, { error: `give one of ${JOB_STATES.join(', ')}` }).optional(),
  trigger: z.string().trim().regex(/^[a-z][a-z:-]{0,39}$/, 'give a trigger label such as manual, webhook:updated, bulk or retry').optional(),
  errorCode: z.string().trim().regex(/^[A-Z][A-Z0-9_]{0,59}$/, 'give an error code such as API_REQUEST_FAILED').optional(),
  runId: z.string().trim().min(1, 'give a run id').max(100, 'a run id is at most 100 characters').optional(),
  ref: z.string().trim().min(1, 'give a CustomerNumber or iPaaS id').max(200, 'at most 200 characters').optional(),
  ...paging(500, 50),
});
const runsQuery = z.object(paging(200, 25));

/** The queue's jobs and the runs (manual syncs, backfills) they belong to, as iPaaS.com's monitoring pages show them. */
export async function queueRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.get('/api/jobs', async (req) => {
    const q = parseInput(jobsQuery, req.query, 'jobs query');
    const [counts, page] = await Promise.all([store.queue.counts(), ctx.queries.jobs(q)]);
    return { counts, total: page.total, limit: q.limit, offset: q.offset, jobs: page.items.map(jobItemView) };
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (req) => {
    const job = await store.queue.get(Number(req.params.id));
    if (!job) throw new HttpError(404, `No job ${req.params.id}.`, 'Pick a job from GET /api/jobs.');
    return jobView(job);
  });

  app.get('/api/runs', async (req) => {
    const q = parseInput(runsQuery, req.query, 'runs query');
    const page = await ctx.queries.runs(q);
    return {
      total: page.total, limit: q.limit, offset: q.offset,
      runs: page.items.map((r) => {
        const done = doneOf(r.jobs);
        // A backfill is finished when its customers are all listed and every job ended.
        const finished = done === r.total && (r.bulk === null || r.bulk.status === 'done' || r.bulk.enumerationDone);
        return { runId: r.runId, trigger: r.trigger, createdAt: iso(r.createdAt), updatedAt: iso(r.updatedAt), total: r.total, done, finished, counts: r.jobs, bulk: r.bulk, statusUrl: `/api/runs/${encodeURIComponent(r.runId)}` };
      }),
    };
  });

  app.get<{ Params: { runId: string } }>('/api/runs/:runId', async (req) => {
    const counts = await store.queue.counts(req.params.runId);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (total === 0) throw new HttpError(404, `No run ${req.params.runId}.`, 'Pick a run from GET /api/runs.');
    const done = doneOf(counts);
    return { runId: req.params.runId, total, done, counts, finished: done === total, jobs: (await store.queue.list({ runId: req.params.runId, limit: 3000 })).map(jobView) };
  });
}
