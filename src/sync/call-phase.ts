import type { Customer } from '../ipaas/customer-model.js';
import { compileFormula, evaluateFormula } from '../mapping/formula.js';
import { customerScope, mapFrom } from '../mapping/map-from.js';
import { mapTo, type FieldWrite } from '../mapping/map-to.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { buildRequest } from '../openai/build-request.js';
import { callOpenAI } from '../openai/call-openai.js';
import { roughRequestTokens } from '../openai/estimate-tokens.js';
import { parseAnswer } from '../openai/parse-answer.js';
import { costUsd, priceFor, type TokenUsage } from '../openai/prices.js';
import type { AttemptRecord } from '../store/sync-store.js';
import type { CustomerSyncState } from '../store/sqlite-job-store.js';
import { inputFingerprint } from './fingerprint.js';
import { loadCustomer, requireCustomerNumber, type CustomerRef } from './load-customer.js';
import type { SyncDeps } from './sync-deps.js';

/** Everything needed to finish a record without calling OpenAI again; stored before the write-back. */
export interface AnswerPackage {
  customerId: string;
  customerNumber: string;
  responseId: string;
  model: string;
  usage: TokenUsage;
  costUsd: number | null;
  answer: Record<string, unknown>;
  /** The TO mapping's values, fixed when the answer arrived (so a resumed write writes the same). */
  writes: FieldWrite[];
}

export type CallResult =
  | { kind: 'answered'; customer: Customer; pkg: AnswerPackage }
  | { kind: 'skipped'; customer: Customer; reason: string };

const round = (ms: number) => Math.round(ms * 100) / 100;

function filterReason(plan: MappingPlan, customer: Customer, now: () => Date): string | undefined {
  const expr = plan.collections.from.filter.expression;
  if (!expr) return undefined;
  const ok = evaluateFormula(compileFormula(expr), customerScope(customer, now));
  return ok ? undefined : `The filter \`${expr}\` of "${plan.collections.from.name}" excludes this record.`;
}

/**
 * load -> filter -> map FROM -> (echo check) -> OpenAI -> parse -> map TO.
 * Fills the attempt record as it goes; throws on failure.
 */
export async function runCallPhase(
  deps: SyncDeps,
  plan: MappingPlan,
  ref: CustomerRef,
  a: AttemptRecord,
  options: { skipUnchanged?: CustomerSyncState | undefined; onCustomer?: (c: Customer) => void } = {},
): Promise<CallResult> {
  let t = performance.now();
  const customer = await loadCustomer(deps.ipaas, ref);
  a.loadMs = round(performance.now() - t);
  a.customerId = customer.id;
  a.customerNumber = customer.customerNumber;
  options.onCustomer?.(customer);

  const filtered = filterReason(plan, customer, deps.now);
  if (filtered) return { kind: 'skipped', customer, reason: filtered };
  const customerNumber = requireCustomerNumber(customer);

  const mapped = mapFrom(plan, customer, deps.now);
  const model = deps.config.openai.model;
  if (options.skipUnchanged && options.skipUnchanged.inputFingerprint === inputFingerprint(mapped, model)) {
    return {
      kind: 'skipped',
      customer,
      reason: 'No mapped input changed since the last sync (an echo of the connector\'s own write-back, or a change to unmapped fields): no OpenAI call needed.',
    };
  }

  const request = buildRequest(deps.config.openai, plan.answerFields, mapped);
  a.api = request.api;
  a.model = request.model;
  a.request = request.body;

  const permit = deps.limiter ? await deps.limiter.acquire(roughRequestTokens(request) + deps.config.openai.maxOutputTokens) : undefined;
  let result;
  try {
    result = await callOpenAI(deps.openai, request, deps.redact, deps.config.openai.timeoutMs);
    permit?.release({ tokensUsed: result.usage.inputTokens + result.usage.outputTokens, status: 200 });
  } catch (err) {
    // The transport already reported 429/503s to the limiter; this only frees the place.
    permit?.release({});
    throw err;
  }
  a.openaiMs = round(result.durationMs);
  a.response = result.raw;
  a.responseId = result.responseId;
  a.requestId = result.requestId ?? null;
  a.inputTokens = result.usage.inputTokens;
  a.cachedTokens = result.usage.cachedTokens;
  a.outputTokens = result.usage.outputTokens;
  a.reasoningTokens = result.usage.reasoningTokens;
  const prices = deps.config.openai.prices;
  a.costUsd = costUsd(result.usage, priceFor(result.model, prices) ?? priceFor(request.model, prices));

  const answer = parseAnswer(request.api, result.raw, request.answerSchema, customerNumber) as Record<string, unknown>;
  a.answer = answer;
  const writes = mapTo(plan, { Id: mapped.id, ResponseId: result.responseId, ResponseDate: deps.now(), PromptText: mapped.promptText, Model: result.model, answer });
  return {
    kind: 'answered',
    customer,
    pkg: { customerId: customer.id, customerNumber, responseId: result.responseId, model: result.model, usage: result.usage, costUsd: a.costUsd, answer, writes },
  };
}
