import type OpenAI from 'openai';
import type { ConnectorConfig } from '../config/schema.js';
import type { Customer } from '../ipaas/customer-model.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { compileFormula, evaluateFormula } from '../mapping/formula.js';
import { customerScope, mapFrom } from '../mapping/map-from.js';
import { mapTo } from '../mapping/map-to.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import { buildRequest } from '../openai/build-request.js';
import { callOpenAI } from '../openai/call-openai.js';
import { parseAnswer } from '../openai/parse-answer.js';
import { costUsd, priceFor } from '../openai/prices.js';
import { describeError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { redactDeep, type Redactor } from '../shared/redact.js';
import type { AttemptRecord, StoredAttempt, SyncStore } from '../store/sync-store.js';
import { loadCustomer, refText, requireCustomerNumber, type CustomerRef } from './load-customer.js';
import { buildPatch } from './write-back.js';

export interface SyncDeps {
  config: ConnectorConfig;
  ipaas: IpaasClient;
  openai: OpenAI;
  store: SyncStore;
  logger: Logger;
  redact: Redactor;
  now: () => Date;
}

export interface SyncResult {
  attempt: StoredAttempt;
  /** The customer as iPaaS.com returned it after the write-back. */
  customer?: Customer;
}

const ms = (since: number) => Math.round((performance.now() - since) * 100) / 100;

function emptyAttempt(ref: CustomerRef, trigger: string, startedAt: string): AttemptRecord {
  return {
    startedAt, finishedAt: startedAt, trigger, customerId: 'id' in ref ? ref.id : null,
    customerNumber: 'customerNumber' in ref ? ref.customerNumber : null, requestedRef: refText(ref),
    collection: null, outcome: 'failed', errorCode: null, errorMessage: null, errorFix: null, retryable: false,
    api: null, model: null, request: null, response: null, answer: null, writes: null, responseId: null, requestId: null,
    inputTokens: 0, cachedTokens: 0, outputTokens: 0, reasoningTokens: 0, costUsd: null,
    loadMs: null, openaiMs: null, writeMs: null, totalMs: 0,
  };
}

/** The record filter of the FROM collection, if it has one: false means skip. */
function passesFilter(plan: MappingPlan, customer: Customer, now: () => Date): { pass: true } | { pass: false; reason: string } {
  const expr = plan.collections.from.filter.expression;
  if (!expr) return { pass: true };
  const ok = evaluateFormula(compileFormula(expr), customerScope(customer, now));
  return ok ? { pass: true } : { pass: false, reason: `The filter \`${expr}\` of "${plan.collections.from.name}" excludes this record.` };
}

/**
 * One record through the whole flow: load -> map FROM -> OpenAI -> parse ->
 * map TO -> write back -> log. Never throws: every outcome is logged.
 */
export async function syncCustomer(deps: SyncDeps, plan: MappingPlan, ref: CustomerRef, trigger: string): Promise<SyncResult> {
  const started = performance.now();
  const a = emptyAttempt(ref, trigger, deps.now().toISOString());
  a.collection = plan.collections.from.name;
  let after: Customer | undefined;
  try {
    let t = performance.now();
    const customer = await loadCustomer(deps.ipaas, ref);
    a.loadMs = ms(t);
    a.customerId = customer.id;
    a.customerNumber = customer.customerNumber;

    const filter = passesFilter(plan, customer, deps.now);
    if (!filter.pass) {
      a.outcome = 'skipped';
      a.errorMessage = filter.reason;
      return { attempt: finish(deps, a, started) };
    }
    const customerNumber = requireCustomerNumber(customer);

    const mapped = mapFrom(plan, customer, deps.now);
    const request = buildRequest(deps.config.openai, plan.answerFields, mapped);
    a.api = request.api;
    a.model = request.model;
    a.request = request.body;

    const result = await callOpenAI(deps.openai, request, deps.redact, deps.config.openai.timeoutMs);
    a.openaiMs = Math.round(result.durationMs * 100) / 100;
    a.response = result.raw;
    a.responseId = result.responseId;
    a.requestId = result.requestId ?? null;
    a.inputTokens = result.usage.inputTokens;
    a.cachedTokens = result.usage.cachedTokens;
    a.outputTokens = result.usage.outputTokens;
    a.reasoningTokens = result.usage.reasoningTokens;
    a.costUsd = costUsd(result.usage, priceFor(result.model, deps.config.openai.prices) ?? priceFor(request.model, deps.config.openai.prices));

    const answer = parseAnswer(request.api, result.raw, request.answerSchema, customerNumber) as Record<string, unknown>;
    a.answer = answer;
    const writes = mapTo(plan, {
      Id: mapped.id,
      ResponseId: result.responseId,
      ResponseDate: deps.now(),
      PromptText: mapped.promptText,
      Model: result.model,
      answer,
    });
    const { patch, fields } = buildPatch(customer, writes);
    a.writes = fields;

    t = performance.now();
    after = await deps.ipaas.updateCustomer(customer.id, patch);
    a.writeMs = ms(t);
    a.outcome = 'synced';
  } catch (err) {
    const e = describeError(err);
    a.outcome = 'failed';
    a.errorCode = e.code;
    a.errorMessage = deps.redact(e.message);
    a.errorFix = e.fix ?? null;
    a.retryable = e.retryable;
  }
  const attempt = finish(deps, a, started);
  return after ? { attempt, customer: after } : { attempt };
}

function finish(deps: SyncDeps, a: AttemptRecord, started: number): StoredAttempt {
  a.finishedAt = deps.now().toISOString();
  a.totalMs = ms(started);
  // Requests and answers hold customer data only, but nothing stored may carry a secret.
  const stored = deps.store.recordAttempt(redactDeep(a, deps.redact));
  const log = { attemptId: stored.id, customerNumber: a.customerNumber ?? a.requestedRef, outcome: a.outcome, trigger: a.trigger, tokens: a.inputTokens + a.outputTokens, costUsd: a.costUsd, ms: a.totalMs };
  if (a.outcome === 'failed') deps.logger.warn({ ...log, error: a.errorCode, message: a.errorMessage }, 'sync failed');
  else deps.logger.info(log, a.outcome === 'synced' ? 'sync done' : 'sync skipped');
  return stored;
}
