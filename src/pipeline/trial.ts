import { randomInt, randomUUID } from 'node:crypto';
import type { ConnectorConfig } from '../config/schema.js';
import { entityModel, type EntityName, type IpaasRecord } from '../ipaas/entities.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { promptTextMapping } from '../mapping/prompt-text.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { estimateRequest } from '../openai/estimate-tokens.js';
import { ConnectorError, describeError } from '../shared/errors.js';
import type { StoredTrialAttempt, TrialVariant } from '../store/ports.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { newAttempt, roundUsd } from '../queue/attempt.js';
import { runCallPhase, prepareRequest } from './prepare-and-call.js';
import { prepareMappings } from './prepare-mappings.js';
import { buildPatch, type WrittenField } from './write-back.js';
import type { RecordRef } from './load-record.js';

/**
 * The prompt lab: the active PromptText, and a candidate when given, tried on the same customers with
 * real OpenAI calls. Nothing is written to iPaaS.com (not even a missing custom field definition),
 * nothing counts as a sync, no sync state changes: each call is kept as a trial.
 */

export interface TrialVariantPlan {
  variant: TrialVariant;
  plan: MappingPlan;
}

export interface TrialVariantResult {
  variant: TrialVariant;
  promptVersion: string;
  outcome: 'answered' | 'failed' | 'skipped';
  /** A request went to OpenAI (and may have been paid for), whatever came back. */
  sent: boolean;
  answer: Record<string, unknown> | null;
  /** What a sync would write, before -> after (fields whose value would not change included, marked). */
  writes: WrittenField[];
  /** The written fields that come from the model's answer (not response metadata such as the date or id). */
  answerTargets: string[];
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  error: { message: string; fix?: string | undefined } | null;
  trialAttemptId: number;
}

export interface TrialCustomerResult {
  ref: string;
  customerNumber: string | null;
  customerId: string | null;
  name: string | null;
  results: TrialVariantResult[];
}

export interface TrialSummary {
  trialId: string;
  customers: number;
  calls: number;
  failed: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** With a candidate: customers whose two answers differ in any field, and how many differ per answer field. */
  compared: { customers: number; differing: number; byField: Record<string, number> } | null;
}

export interface TrialEstimate {
  customers: number;
  variants: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
}

/** The config with another PromptText (a Static mapping) in the FROM collection: the candidate's plan comes from it. */
export function withPromptText(config: ConnectorConfig, text: string, entity?: EntityName): ConnectorConfig {
  const label = entityModel(entity).label;
  const from = config.mappingCollections.find((c) => c.direction === 'FROM iPaaS' && c.status === 'Enabled' && c.dataModel === label);
  if (!from) throw new ConnectorError('CONFIG_INVALID', 'There is no enabled FROM collection to try a PromptText on.', { fix: 'Enable the FROM iPaaS mapping collection in the config.' });
  const current = promptTextMapping(from);
  const prompt = { type: 'Static' as const, source: text, destination: 'PromptText' };
  const mappings = current ? from.mappings.map((m) => (m === current ? prompt : m)) : [...from.mappings, prompt];
  return { ...config, mappingCollections: config.mappingCollections.map((c) => (c === from ? { ...c, mappings } : c)) };
}

/** The plans to try: the active PromptText, then the candidate. A dry run: nothing is created in iPaaS.com. */
export async function trialPlans(config: ConnectorConfig, ipaas: IpaasClient, candidate: string | undefined, entity?: EntityName): Promise<TrialVariantPlan[]> {
  const plan = async (c: ConnectorConfig) => {
    const prepared = await prepareMappings(c, ipaas, { dryRun: true, entity });
    if ('disabled' in prepared) throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections.' });
    return prepared.plan;
  };
  const out: TrialVariantPlan[] = [{ variant: 'active', plan: await plan(config) }];
  if (candidate !== undefined) {
    if (!candidate.trim()) throw new ConnectorError('INVALID_INPUT', 'The candidate PromptText is empty.', { fix: 'Write the instructions to try into the file given with --prompt-file.' });
    out.push({ variant: 'candidate', plan: await plan(withPromptText(config, candidate, entity)) });
  }
  return out;
}

/** `n` records with an identity (CustomerNumber, SKU), drawn at random from the account (a few pages read, not all of them). */
export async function sampleRecords(ipaas: IpaasClient, n: number, entity?: EntityName): Promise<RecordRef[]> {
  const model = entityModel(entity);
  const pageSize = 100;
  const first = await ipaas.listRecords(model, 1, { pageSize });
  const total = first.pagination.total_Count ?? first.records.length;
  const pages = Math.max(1, Math.ceil(total / pageSize));
  const seen = new Map<string, RecordRef>();
  const cache = new Map<number, IpaasRecord[]>([[1, first.records]]);
  // Random positions; a page read once serves every position on it. Bounded: records without an identity are passed over.
  for (let tries = 0; seen.size < Math.min(n, total) && tries < n * 10; tries++) {
    const page = 1 + randomInt(pages);
    let list = cache.get(page);
    if (!list) cache.set(page, (list = (await ipaas.listRecords(model, page, { pageSize })).records));
    if (list.length === 0) continue;
    const c = list[randomInt(list.length)]!;
    if (c.number && !seen.has(c.number)) seen.set(c.number, { entity: model.name, customerNumber: c.number });
  }
  if (seen.size === 0) {
    throw new ConnectorError('INVALID_INPUT', `No ${model.name} with a ${model.identity} was found to try the prompt on.`, { fix: `Name them with \`ipaas-openai try${model.name === 'customer' ? '' : ` --entity ${model.name}`} <${model.identity}...>\`.` });
  }
  return [...seen.values()];
}

/** Exact input tokens of every call the trial would make, output from the answer fields' expected size. */
export async function estimateTrial(deps: SyncDeps, plans: TrialVariantPlan[], refs: RecordRef[]): Promise<TrialEstimate> {
  let inputTokens = 0;
  let outputTokens = 0;
  let cost: number | null = 0;
  let calls = 0;
  const expected = (await deps.store.log.averageOutputTokens(deps.config.openai.model)) ?? 150;
  for (const ref of refs) {
    for (const { plan } of plans) {
      const prepared = await prepareRequest(deps, plan, ref, newAttempt(ref, { source: 'manual' }, deps.now().toISOString())).catch(() => undefined);
      if (!prepared || prepared.kind !== 'request') continue;
      const e = await estimateRequest(prepared.request, deps.config.openai.prices, expected);
      calls++;
      inputTokens += e.inputTokens;
      outputTokens += e.outputTokens;
      cost = cost === null || e.costUsd === null ? null : cost + e.costUsd;
    }
  }
  return { customers: refs.length, variants: plans.length, calls, inputTokens, outputTokens, costUsd: cost === null ? null : roundUsd(cost) };
}

/** TO targets the model's answer fills (a date, an id or the prompt text would differ between any two calls). */
export function answerTargets(plan: MappingPlan): string[] {
  const answerNames = new Set(plan.answerFields.map((f) => f.name));
  return plan.targets
    .filter((t) => (t.formula ? t.formula.fields : t.mapping.type === 'Field' ? [t.mapping.source] : []).some((name) => answerNames.has(name)))
    .map((t) => t.destination);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Runs every plan on every customer, one customer at a time; each call is kept as a trial attempt. */
export async function runTrial(
  deps: SyncDeps,
  plans: TrialVariantPlan[],
  refs: RecordRef[],
  options: {
    signal?: AbortSignal | undefined;
    onCustomer?: (r: TrialCustomerResult, done: number, total: number) => void;
    /** The id to keep the calls under; the service gives it so that it can answer with it before the run ends. */
    trialId?: string | undefined;
  } = {},
): Promise<{ summary: TrialSummary; customers: TrialCustomerResult[] }> {
  const trialId = options.trialId ?? newTrialId();
  const customers: TrialCustomerResult[] = [];
  for (const { plan } of plans) await deps.store.prompts.remember(plan.promptVersion);
  for (const ref of refs) {
    if (options.signal?.aborted) break;
    const row: TrialCustomerResult = { ref: 'customerNumber' in ref ? ref.customerNumber : ref.id, customerNumber: null, customerId: null, name: null, results: [] };
    for (const { variant, plan } of plans) {
      row.results.push(await tryOne(deps, trialId, variant, plan, ref, row, options.signal));
    }
    customers.push(row);
    options.onCustomer?.(row, customers.length, refs.length);
  }
  const compared = plans.length > 1 ? [...new Set(plans.flatMap((p) => p.plan.answerFields.map((f) => f.name)))] : null;
  return { summary: summariseTrial(trialId, compared, customers), customers };
}

export const newTrialId = () => `trial-${randomUUID().slice(0, 8)}`;

async function tryOne(deps: SyncDeps, trialId: string, variant: TrialVariant, plan: MappingPlan, ref: RecordRef, row: TrialCustomerResult, signal: AbortSignal | undefined): Promise<TrialVariantResult> {
  const started = performance.now();
  const a = newAttempt(ref, { source: 'manual' }, deps.now().toISOString());
  let outcome: TrialVariantResult['outcome'] = 'failed';
  let answer: Record<string, unknown> | null = null;
  let writes: WrittenField[] = [];
  let error: TrialVariantResult['error'] = null;
  try {
    const call = await runCallPhase(deps, plan, ref, a, {
      signal,
      onCustomer: (c) => {
        row.customerNumber = c.number;
        row.customerId = c.key;
        row.name = c.name;
      },
    });
    if (call.kind === 'skipped') {
      outcome = 'skipped';
      error = { message: call.reason };
    } else {
      outcome = 'answered';
      answer = call.pkg.answer;
      writes = buildPatch(call.customer, call.pkg.writes).fields;
    }
  } catch (err) {
    const e = describeError(err);
    error = { message: deps.redact(e.message), fix: e.fix };
    a.errorCode = e.code;
  }
  const stored: StoredTrialAttempt = await deps.store.trials.record({
    trialId, variant, promptVersion: plan.promptVersion.id, startedAt: a.startedAt, finishedAt: deps.now().toISOString(),
    customerId: a.customerId, customerNumber: a.customerNumber, requestedRef: a.requestedRef, outcome,
    errorCode: outcome === 'failed' ? a.errorCode : null, errorMessage: error?.message ?? null,
    api: a.api, model: a.model, request: a.request, response: a.response, answer, writes,
    responseId: a.responseId, inputTokens: a.inputTokens, cachedTokens: a.cachedTokens, outputTokens: a.outputTokens, reasoningTokens: a.reasoningTokens,
    costUsd: a.costUsd, totalMs: Math.round((performance.now() - started) * 100) / 100,
  });
  // A paid call: the spend caps count it (the sync log does not: a trial is not a sync).
  if (a.inputTokens || a.outputTokens) deps.budget?.record(a.inputTokens + a.outputTokens, a.costUsd, a.outputTokens);
  deps.logger.info({ trialId, variant, promptVersion: plan.promptVersion.id, trialAttemptId: stored.id, ref: a.requestedRef, outcome, costUsd: roundUsd(a.costUsd) }, 'prompt lab: trial call');
  return { variant, promptVersion: plan.promptVersion.id, outcome, sent: a.request !== null, answer, writes, answerTargets: answerTargets(plan), inputTokens: a.inputTokens, outputTokens: a.outputTokens, costUsd: a.costUsd, error, trialAttemptId: stored.id };
}

/**
 * The summary of a trial: calls, cost, and with a candidate (`fields`: the answer fields to compare) how
 * many customers' two answers differ, per field. Also used on trials read back from the store.
 */
export function summariseTrial(trialId: string, fields: string[] | null, customers: TrialCustomerResult[]): TrialSummary {
  const all = customers.flatMap((c) => c.results);
  let compared: TrialSummary['compared'] = null;
  if (fields) {
    const byField = Object.fromEntries(fields.map((f) => [f, 0]));
    let both = 0;
    let differing = 0;
    for (const c of customers) {
      const [x, y] = c.results;
      if (x?.outcome !== 'answered' || y?.outcome !== 'answered') continue;
      both++;
      let any = false;
      for (const f of fields) {
        if (!same(x.answer?.[f], y.answer?.[f])) {
          byField[f] = (byField[f] ?? 0) + 1;
          any = true;
        }
      }
      if (any) differing++;
    }
    compared = { customers: both, differing, byField };
  }
  return {
    trialId,
    customers: customers.length,
    calls: all.filter((r) => r.sent).length,
    failed: all.filter((r) => r.outcome === 'failed').length,
    costUsd: roundUsd(all.reduce((s, r) => s + (r.costUsd ?? 0), 0)) ?? 0,
    inputTokens: all.reduce((s, r) => s + r.inputTokens, 0),
    outputTokens: all.reduce((s, r) => s + r.outputTokens, 0),
    compared,
  };
}
