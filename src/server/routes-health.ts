import type { FastifyInstance } from 'fastify';
import { describeError } from '../shared/errors.js';
import type { ServiceContext } from './service-context.js';

/** /healthz: the process answers. /readyz: the store works, the mappings are checked, the workers run. */
export async function healthRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  app.get('/healthz', async () => ({ ok: true, startedAt: ctx.startedAt.toISOString() }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, { ok: boolean; detail?: string; fix?: string }> = {};
    let queue;
    try {
      queue = await ctx.deps.store.queue.counts();
      checks.store = { ok: true };
    } catch (err) {
      checks.store = { ok: false, detail: ctx.deps.redact(describeError(err).message) };
    }
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
    return reply.code(ok ? 200 : 503).send({ ok, checks, queue: queue ?? null, rateLimit: ctx.deps.limiter.snapshot(), budget: ctx.deps.budget?.snapshot() });
  });
}
