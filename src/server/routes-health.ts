import type { FastifyInstance } from 'fastify';
import { describeError } from '../shared/errors.js';
import type { ServiceContext } from './service-context.js';

type Check = { ok: boolean; detail?: string; fix?: string };

/**
 * Checks the store (reachable; for SQLite, still the file at its path) and says so in the log once
 * when it starts failing and once when it answers again. `serve` runs it every few seconds, so a
 * deleted database or a lost PostgreSQL is reported even when nobody probes /readyz.
 */
export function storeWatch(ctx: Pick<ServiceContext, 'deps'>): () => Promise<{ check: Check; queue: Awaited<ReturnType<ServiceContext['deps']['store']['queue']['counts']>> | undefined }> {
  let failing = false;
  return async () => {
    try {
      await ctx.deps.store.check();
      const queue = await ctx.deps.store.queue.counts();
      if (failing) ctx.deps.logger.info({ store: ctx.deps.store.location }, 'the store answers again');
      failing = false;
      return { check: { ok: true }, queue };
    } catch (err) {
      const e = describeError(err);
      const check: Check = { ok: false, detail: ctx.deps.redact(e.message), ...(e.fix ? { fix: e.fix } : {}) };
      if (!failing) ctx.deps.logger.error({ store: ctx.deps.store.location, error: e.code, reason: check.detail, fix: e.fix }, 'the store is not usable');
      failing = true;
      return { check, queue: undefined };
    }
  };
}

/** /healthz: the process answers. /readyz: the store works, the mappings are checked, the workers run. */
export async function healthRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  app.get('/healthz', async () => ({ ok: true, startedAt: ctx.startedAt.toISOString() }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, Check> = {};
    const { check, queue } = await ctx.watchStore();
    checks.store = check;
    try {
      await ctx.plans.get();
      checks.mappings = { ok: true };
    } catch (err) {
      const e = describeError(err);
      checks.mappings = { ok: false, detail: ctx.deps.redact(e.message), ...(e.fix ? { fix: e.fix } : {}) };
    }
    const paused = queue ? await ctx.pool.pausedReason().catch(() => undefined) : undefined;
    checks.workers = paused ? { ok: false, detail: paused, fix: 'Add credit or raise the OpenAI quota, then POST /api/retry.' } : { ok: ctx.pool.isRunning() };
    const ok = Object.values(checks).every((c) => c.ok);
    // Answers waiting for a person do not make the service unready, but nothing waits unnoticed: say how long the oldest waits.
    const review = queue ? await ctx.deps.store.queue.reviewSummary().catch(() => undefined) : undefined;
    const waitingForReview = review
      ? { waiting: review.waiting, oldestSince: review.oldestSince === null ? null : new Date(review.oldestSince).toISOString(), oldestAgeSeconds: review.oldestSince === null ? null : Math.max(0, Math.round((Date.now() - review.oldestSince) / 1000)) }
      : null;
    return reply.code(ok ? 200 : 503).send({ ok, checks, queue: queue ?? null, review: waitingForReview, rateLimit: ctx.deps.limiter.snapshot(), budget: ctx.deps.budget?.snapshot() });
  });
}
