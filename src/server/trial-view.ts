import { summariseTrial, type TrialCustomerResult, type TrialSummary, type TrialVariantResult } from '../pipeline/trial.js';
import type { WrittenField } from '../pipeline/write-back.js';
import type { StoredTrialAttempt, Storage, TrialVariant } from '../store/ports.js';

/**
 * A trial as the API shows it, read back from the store (so any instance, and any later process, can
 * show it): its calls grouped per customer with both answers side by side, the prompt versions with
 * their text, and the summary the CLI prints.
 */
export interface TrialView {
  trialId: string;
  startedAt: string | null;
  prompts: Array<{ variant: TrialVariant; id: string; text: string | null }>;
  customers: TrialCustomerResult[];
  summary: TrialSummary;
}

/** Every call a trial made, oldest first (a trial has at most TRIAL_MAX_CUSTOMERS × 2 calls). */
export async function trialCalls(store: Storage, trialId: string, max: number): Promise<StoredTrialAttempt[]> {
  return (await store.trials.list({ trialId, limit: max })).reverse();
}

/**
 * `answerTargets`: the written fields that come from the model's answer (from the current mapping: a
 * candidate changes only the PromptText, never the TO mapping); they are the ones worth comparing.
 */
export async function trialView(store: Storage, trialId: string, calls: StoredTrialAttempt[], answerTargets: string[]): Promise<TrialView> {
  const byRef = new Map<string, TrialCustomerResult>();
  const versions = new Map<TrialVariant, string>();
  for (const t of calls) {
    versions.set(t.variant, t.promptVersion);
    let row = byRef.get(t.requestedRef);
    if (!row) byRef.set(t.requestedRef, (row = { ref: t.requestedRef, customerNumber: null, customerId: null, name: null, results: [] }));
    row.customerNumber ??= t.customerNumber;
    row.customerId ??= t.customerId;
    row.results.push(toResult(t, answerTargets));
  }
  const customers = [...byRef.values()];
  for (const c of customers) c.results.sort((a, b) => variantOrder(a.variant) - variantOrder(b.variant));
  // Compared like the CLI: by the answer's fields, when both prompts were tried.
  const fields = versions.size > 1 ? [...new Set(calls.flatMap((t) => (t.answer && typeof t.answer === 'object' ? Object.keys(t.answer) : [])))] : null;
  const prompts = await Promise.all(
    [...versions].sort(([a], [b]) => variantOrder(a) - variantOrder(b)).map(async ([variant, id]) => ({ variant, id, text: (await store.prompts.get(id))?.text ?? null })),
  );
  return { trialId, startedAt: calls[0]?.startedAt ?? null, prompts, customers, summary: summariseTrial(trialId, fields, customers) };
}

const variantOrder = (v: TrialVariant) => (v === 'active' ? 0 : 1);

function toResult(t: StoredTrialAttempt, answerTargets: string[]): TrialVariantResult {
  return {
    variant: t.variant,
    promptVersion: t.promptVersion,
    outcome: t.outcome,
    sent: t.request !== null,
    answer: t.answer && typeof t.answer === 'object' ? (t.answer as Record<string, unknown>) : null,
    writes: Array.isArray(t.writes) ? (t.writes as WrittenField[]) : [],
    answerTargets,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    costUsd: t.costUsd,
    error: t.errorMessage ? { message: t.errorMessage } : null,
    trialAttemptId: t.id,
  };
}
