import type { IpaasRecord } from '../ipaas/entities.js';
import { compileFormula, evaluateFormula } from '../mapping/formula.js';
import { mapFrom, recordScope, type MappedRequest } from '../mapping/map-from.js';
import { mapTo, type FieldWrite } from '../mapping/map-to.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { buildRequest, type OpenAIRequest, type ServiceTier } from '../openai/build-request.js';
import { callOpenAI, type OpenAIRawResult } from '../openai/call-openai.js';
import { roughRequestTokens } from '../openai/estimate-tokens.js';
import { parseAnswer } from '../openai/parse-answer.js';
import { InterruptedError, isFlexUnavailable } from '../shared/errors.js';
import { costUsd, priceFor, type TokenUsage } from '../openai/prices.js';
import type { AttemptRecord } from '../store/ports.js';
import type { CustomerSyncState } from '../store/ports.js';
import { inputFingerprint } from './fingerprint.js';
import { loadRecord, requireNumber, type RecordRef } from './load-record.js';
import type { SyncDeps } from '../app/sync-deps.js';

/** Everything needed to finish a record without calling OpenAI again; stored before the write-back. */
export interface AnswerPackage {
  /** The record's key (entities.ts recordKeyOf): a customer's iPaaS id, another model's prefixed. */
  customerId: string;
  customerNumber: string;
  responseId: string;
  model: string;
  usage: TokenUsage;
  costUsd: number | null;
  answer: Record<string, unknown>;
  /** The TO mapping's values, fixed when the answer arrived (so a resumed write writes the same). */
  writes: FieldWrite[];
  /** The PromptText version that asked. */
  promptVersion?: string;
}

export type CallResult =
  | { kind: 'answered'; customer: IpaasRecord; pkg: AnswerPackage }
  | { kind: 'skipped'; customer: IpaasRecord; reason: string };

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The FROM collection's filter step: why the collection excludes this record, or undefined when it takes it. */
export function filterReason(plan: MappingPlan, customer: IpaasRecord, now: () => Date): string | undefined {
  const expr = plan.collections.from.filter.expression;
  if (!expr) return undefined;
  const ok = evaluateFormula(compileFormula(expr), recordScope(customer, now));
  return ok ? undefined : `The filter \`${expr}\` of "${plan.collections.from.name}" excludes this record.`;
}

export type Prepared =
  | { kind: 'request'; customer: IpaasRecord; customerNumber: string; mapped: MappedRequest; request: OpenAIRequest }
  | { kind: 'skipped'; customer: IpaasRecord; reason: string };

export interface PrepareOptions {
  /** Skip the record when its mapped inputs fingerprint equally to the last sync. */
  skipUnchanged?: CustomerSyncState | undefined;
  /** Told the loaded customer (the job learns its iPaaS id); awaited. */
  onCustomer?: (c: IpaasRecord) => void | Promise<void>;
  /** Aborted when the process stops: the OpenAI call (or the wait for a rate-limit permit) ends at once. */
  signal?: AbortSignal | undefined;
  /** The service tier for this record (sync --all --tier flex); default: openai.serviceTier. */
  serviceTier?: ServiceTier | undefined;
}

/** load -> filter -> map FROM -> (unchanged check) -> the request, ready to send directly or in a batch. */
export async function prepareRequest(deps: SyncDeps, plan: MappingPlan, ref: RecordRef, a: AttemptRecord, options: PrepareOptions = {}): Promise<Prepared> {
  const t = performance.now();
  const customer = await loadRecord(deps.ipaas, ref);
  a.loadMs = round(performance.now() - t);
  a.customerId = customer.key;
  a.customerNumber = customer.number;
  await options.onCustomer?.(customer);

  const filtered = filterReason(plan, customer, deps.now);
  if (filtered) return { kind: 'skipped', customer, reason: filtered };
  const customerNumber = requireNumber(customer);

  const mapped = mapFrom(plan, customer, deps.now);
  if (options.skipUnchanged && options.skipUnchanged.inputFingerprint === inputFingerprint(mapped, deps.config.openai.model)) {
    return {
      kind: 'skipped',
      customer,
      reason: 'No mapped input changed since the last sync (an echo of the connector\'s own write-back, or a change to unmapped fields): no OpenAI call needed.',
    };
  }
  const request = buildRequest(deps.config.openai, plan.answerFields, mapped, deps.config.privacy, options.serviceTier ?? deps.config.openai.serviceTier);
  a.api = request.api;
  a.model = request.model;
  a.request = request.body;
  a.promptVersion = mapped.promptVersion;
  return { kind: 'request', customer, customerNumber, mapped, request };
}

/** OpenAI's answer (direct or from a batch line) -> parse -> map TO: the package the write-back needs. */
export function answerPackage(
  deps: SyncDeps,
  plan: MappingPlan,
  prepared: Extract<Prepared, { kind: 'request' }>,
  result: Pick<OpenAIRawResult, 'raw' | 'responseId' | 'model' | 'usage'> & Partial<Pick<OpenAIRawResult, 'serviceTier'>>,
  a: AttemptRecord,
  priceFactor = 1,
): AnswerPackage {
  const { customer, customerNumber, mapped, request } = prepared;
  a.response = result.raw;
  a.responseId = result.responseId;
  a.inputTokens = result.usage.inputTokens;
  a.cachedTokens = result.usage.cachedTokens;
  a.outputTokens = result.usage.outputTokens;
  a.reasoningTokens = result.usage.reasoningTokens;
  const prices = deps.config.openai.prices;
  const cost = costUsd(result.usage, priceFor(result.model, prices) ?? priceFor(request.model, prices));
  // Billed by the tier that served the call: flex is charged at Batch prices.
  const tierFactor = result.serviceTier === 'flex' ? deps.config.batch.discount : 1;
  a.costUsd = cost === null ? null : cost * priceFactor * tierFactor;
  const answer = parseAnswer(request.api, result.raw, request.answerSchema, customerNumber) as Record<string, unknown>;
  a.answer = answer;
  const writes = mapTo(plan, { Id: mapped.id, ResponseId: result.responseId, ResponseDate: deps.now(), PromptText: mapped.promptText, Model: result.model, answer });
  return { customerId: customer.key, customerNumber, responseId: result.responseId, model: result.model, usage: result.usage, costUsd: a.costUsd, answer, writes, promptVersion: mapped.promptVersion };
}

/** Holds the request back when it would cross a spend cap (throws BudgetHeldError). */
export function checkBudget(deps: SyncDeps, request: OpenAIRequest, priceFactor = 1, input = roughRequestTokens(request)): void {
  if (!deps.budget?.enabled) return;
  const output = deps.budget.expectedOutputTokens();
  const cost = costUsd({ inputTokens: input, cachedTokens: 0, outputTokens: output, reasoningTokens: 0 }, priceFor(request.model, deps.config.openai.prices));
  deps.budget.check(input + output, cost === null ? null : cost * priceFactor);
}

/**
 * load -> filter -> map FROM -> (echo check) -> OpenAI -> parse -> map TO.
 * Fills the attempt record as it goes; throws on failure.
 */
export async function runCallPhase(deps: SyncDeps, plan: MappingPlan, ref: RecordRef, a: AttemptRecord, options: PrepareOptions = {}): Promise<CallResult> {
  const prepared = await prepareRequest(deps, plan, ref, a, options);
  if (prepared.kind === 'skipped') return prepared;
  try {
    return await sendPrepared(deps, plan, prepared, a, options.signal);
  } catch (err) {
    if (!(prepared.request.serviceTier === 'flex' && isFlexUnavailable(err) && deps.config.openai.flexFallback === 'default')) throw err;
    // Flex had no capacity (nothing charged): this record goes now at the default tier, at full price.
    const request = buildRequest(deps.config.openai, plan.answerFields, prepared.mapped, deps.config.privacy, 'default');
    a.request = request.body;
    (a.flags ??= []).push('flex had no capacity: sent at the default tier (openai.flexFallback: default)');
    return sendPrepared(deps, plan, { ...prepared, request }, a, options.signal);
  }
}

/** One prepared request to OpenAI, paced and within the budget, then parsed and mapped TO. */
async function sendPrepared(deps: SyncDeps, plan: MappingPlan, prepared: Extract<Prepared, { kind: 'request' }>, a: AttemptRecord, signal: AbortSignal | undefined): Promise<CallResult> {
  const { request } = prepared;
  const inputGuess = roughRequestTokens(request);
  checkBudget(deps, request, request.serviceTier === 'flex' ? deps.config.batch.discount : 1, inputGuess);
  let permit;
  try {
    permit = deps.limiter ? await deps.limiter.acquire(inputGuess + deps.config.openai.maxOutputTokens, signal) : undefined;
  } catch (err) {
    if (signal?.aborted) throw new InterruptedError('The wait for an OpenAI rate-limit permit');
    throw err;
  }
  let result;
  try {
    if (signal?.aborted) throw new InterruptedError('The OpenAI call');
    const timeoutMs = request.serviceTier === 'flex' ? deps.config.openai.flexTimeoutMs : deps.config.openai.timeoutMs;
    result = await callOpenAI(deps.openai, request, deps.redact, timeoutMs, signal);
    permit?.release({ tokensUsed: result.usage.inputTokens + result.usage.outputTokens, status: 200 });
  } catch (err) {
    // The transport already reported 429/503s to the limiter; this only frees the place.
    permit?.release({});
    throw err;
  }
  a.openaiMs = round(result.durationMs);
  a.requestId = result.requestId ?? null;
  return { kind: 'answered', customer: prepared.customer, pkg: answerPackage(deps, plan, prepared, result, a) };
}
