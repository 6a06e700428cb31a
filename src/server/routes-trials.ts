import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ENTITY_NAMES } from '../ipaas/entities.js';
import type { RecordRef } from '../pipeline/load-record.js';
import { answerTargets, estimateTrial, sampleRecords, trialPlans, type TrialVariantPlan } from '../pipeline/trial.js';
import { checkAdmin } from './auth.js';
import { HttpError } from './http-errors.js';
import { parseInput } from './parse-input.js';
import type { ServiceContext } from './service-context.js';
import { trialCalls, trialView } from './trial-view.js';

/** Customers per trial from the page: each costs one or two real OpenAI calls, and the page shows them all. */
export const TRIAL_MAX_CUSTOMERS = 50;
/** Calls read back for one trial (a CLI trial may be bigger than the page's): the newest are shown. */
const TRIAL_MAX_CALLS = 1000;

const customers = `give a whole number of customers from 1 to ${TRIAL_MAX_CUSTOMERS}`;
const trialBody = z
  .object({
    customerNumbers: z
      .array(z.string({ error: 'a CustomerNumber is text, e.g. CUST-10045' }).trim().min(1, 'a CustomerNumber cannot be empty').max(100, 'a CustomerNumber is at most 100 characters'), { error: 'give a list of CustomerNumbers' })
      .min(1, 'name at least one CustomerNumber, or leave customerNumbers out and ask for a sample')
      .max(TRIAL_MAX_CUSTOMERS, `at most ${TRIAL_MAX_CUSTOMERS} customers per trial`)
      .optional(),
    sample: z.number({ error: customers }).int(customers).min(1, customers).max(TRIAL_MAX_CUSTOMERS, customers).optional(),
    // Not trimmed: the prompt version is a hash of the exact text, as `try --prompt-file` reads it.
    promptText: z
      .string({ error: 'give the candidate PromptText as text' })
      .max(20_000, 'a PromptText is at most 20,000 characters')
      .refine((t) => t.trim().length > 0, 'the candidate PromptText is empty: leave promptText out to try the active PromptText alone')
      .optional(),
    entity: z.enum(ENTITY_NAMES, { error: `give one of ${ENTITY_NAMES.join(', ')}` }).default('customer').describe('customerNumbers are SKUs for products'),
  })
  .strict()
  .refine((b) => (b.customerNumbers === undefined) !== (b.sample === undefined), {
    message: 'give either customerNumbers or sample (that many customers at random), one of the two',
  });
type TrialBody = z.infer<typeof trialBody>;

const trialsQuery = z.object({ limit: z.coerce.number({ error: 'give a whole number from 1 to 100' }).int('give a whole number from 1 to 100').min(1, 'give a whole number from 1 to 100').max(100, 'at most 100').default(20) });

/**
 * The prompt lab over HTTP (the Prompt lab page): estimate, then start a trial that runs in this service
 * in the background (real OpenAI calls, nothing written to iPaaS.com, kept apart from the sync log),
 * follow it, and read any trial back; and the text of a prompt version.
 */
export async function trialRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store, config, ipaas } = ctx.deps;
  app.addHook('onRequest', async (req) => checkAdmin(req, ctx.adminToken, ctx.loopbackOnly));

  const refsOf = async (b: TrialBody): Promise<RecordRef[]> =>
    b.customerNumbers ? [...new Set(b.customerNumbers)].map((customerNumber) => ({ entity: b.entity, customerNumber })) : sampleRecords(ipaas, b.sample!, b.entity);
  const promptsOf = (plans: TrialVariantPlan[]) => plans.map((p) => ({ variant: p.variant, id: p.plan.promptVersion.id, text: ctx.deps.redact(p.plan.promptVersion.text) }));
  const numbersOf = (refs: RecordRef[]) => refs.map((r) => ('customerNumber' in r ? r.customerNumber : r.id));

  // Nothing is sent: the exact requests are built (customers loaded) and counted. A sample is drawn here,
  // and the page starts the trial with the customers it was shown.
  app.post('/api/trials/estimate', async (req) => {
    const body = parseInput(trialBody, req.body, 'trial request');
    const plans = await trialPlans(config, ipaas, body.promptText, body.entity);
    const refs = await refsOf(body);
    const estimate = await estimateTrial(ctx.deps, plans, refs);
    return { estimate, customerNumbers: numbersOf(refs), prompts: promptsOf(plans) };
  });

  app.post('/api/trials', async (req, reply) => {
    if (ctx.storeFault) throw ctx.storeFault;
    const body = parseInput(trialBody, req.body, 'trial request');
    const started = await ctx.trials.start(async () => {
      const plans = await trialPlans(config, ipaas, body.promptText, body.entity);
      return { plans, refs: await refsOf(body) };
    });
    return reply.code(202).send({ trialId: started.trialId, status: started.status, customers: started.customers, prompts: promptsOf(started.plans), statusUrl: `/api/trials/${started.trialId}` });
  });

  app.get('/api/trials', async (req) => {
    const q = parseInput(trialsQuery, req.query, 'trials query');
    const runs = await store.trials.runs(q.limit);
    const running = ctx.trials.running();
    const items = runs.map((r) => ({ ...r, status: ctx.trials.progress(r.trialId)?.status ?? null }));
    // Started but no call kept yet: listed all the same, so the page shows it at once.
    if (running && !runs.some((r) => r.trialId === running.trialId)) items.unshift({ trialId: running.trialId, startedAt: running.startedAt, calls: 0, customers: 0, costUsd: 0, status: running.status });
    return { running: running ?? null, trials: items };
  });

  app.get<{ Params: { trialId: string } }>('/api/trials/:trialId', async (req) => {
    const { trialId } = req.params;
    const progress = ctx.trials.progress(trialId) ?? null;
    const calls = await trialCalls(store, trialId, TRIAL_MAX_CALLS);
    if (calls.length === 0 && !progress) throw new HttpError(404, `No trial ${trialId}.`, 'Pick a trial from GET /api/trials.');
    const targets = await ctx.plans.get().then(answerTargets, () => []);
    const view = await trialView(store, trialId, calls, targets);
    return { ...view, status: progress?.status ?? null, progress, truncated: calls.length >= TRIAL_MAX_CALLS };
  });

  app.get<{ Params: { promptVersion: string } }>('/api/prompts/:promptVersion', async (req) => {
    const v = await store.prompts.get(req.params.promptVersion);
    if (!v) throw new HttpError(404, `No prompt version ${req.params.promptVersion}.`, 'Prompt versions are named on attempts (promptVersion in /api/activity) and trials.');
    return { id: v.id, text: v.text, firstSeen: new Date(v.firstSeen).toISOString() };
  });
}
