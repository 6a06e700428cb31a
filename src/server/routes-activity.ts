import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { activityCsv } from './activity-csv.js';
import { activityFilter, activityQuery } from './activity-query.js';
import { checkAdmin } from './auth.js';
import { isoDate, parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';

const DAY = 86_400_000;
const facetsQuery = z.object({ since: isoDate.optional() });

/** The sync log for people: the paged list, the values its filters take, and the same list as CSV. */
export async function activityRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  app.get('/api/activity', async (req) => {
    const q = parseInput(activityQuery, req.query, 'activity query');
    const page = await ctx.queries.activity(q);
    return { ...page, limit: q.limit, offset: q.offset };
  });

  app.get('/api/activity/facets', async (req) => {
    const q = parseInput(facetsQuery, req.query, 'facets query');
    const since = q.since ?? new Date(ctx.deps.now().getTime() - 30 * DAY).toISOString();
    return { since, ...(await ctx.queries.activityFacets(since)) };
  });

  // Streamed a page at a time: a log of millions of attempts never sits in memory at once.
  app.get('/api/activity.csv', async (req, reply) => {
    const filter = parseInput(activityFilter.strict(), req.query, 'activity export query');
    const stamp = ctx.deps.now().toISOString().replace(/[:.]/g, '-');
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="ipaas-openai-activity-${stamp}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(activityCsv(ctx.queries, filter, ctx.deps.redact)));
  });
}
