import { STANDARD_FIELDS, isStandardField, type Customer } from '../ipaas/customer-model.js';
import { evaluateFormula, type FormulaScope } from './formula.js';
import type { CompiledMapping, MappingPlan } from './mapping-plan.js';
import { fillPlaceholders } from './prompt-text.js';
import { applyTransform, DROPPED, safetyIdentifier, type Transform } from './transforms.js';

export interface MappedRequest {
  /** The OpenAI request's Id: the customer's CustomerNumber. */
  id: string;
  promptText: string;
  /** The customer's mapped fields, sent as JSON data (never as instructions), each as its transform left it. */
  data: Record<string, unknown>;
  /** The PromptText's version (plan.promptVersion.id). */
  promptVersion: string;
  /** A hash of the CustomerNumber for OpenAI's safety_identifier; null without a CustomerNumber. */
  safetyIdentifier: string | null;
}

export function customerScope(customer: Customer, now: () => Date): FormulaScope {
  return {
    field: (name) => {
      if (isStandardField(name)) return STANDARD_FIELDS[name](customer);
      const hit = Object.entries(customer.customFields).find(([k]) => k.toLowerCase() === name.toLowerCase());
      return hit ? hit[1] : null;
    },
    customFields: customer.customFields,
    now,
  };
}

function valueOf(m: CompiledMapping, scope: FormulaScope): unknown {
  switch (m.mapping.type) {
    case 'Field':
      return scope.field(m.mapping.source) ?? null;
    case 'Static':
      return m.mapping.source;
    case 'Formula':
      return evaluateFormula(m.formula!, scope) ?? null;
  }
}

/**
 * Maps a customer FROM iPaaS.com into the OpenAI request: only mapped fields
 * travel (child collections such as addresses never do).
 */
export function mapFrom(plan: MappingPlan, customer: Customer, now: () => Date = () => new Date()): MappedRequest {
  const scope = customerScope(customer, now);
  const data: Record<string, unknown> = {};
  // A field some mapping transforms is transformed wherever it would leave, PromptText placeholders included.
  const transformed = new Map<string, Transform>();
  for (const m of plan.from) {
    if (m.transform && m.mapping.type === 'Field') transformed.set(m.mapping.source.toLowerCase(), m.transform);
    let v = valueOf(m, scope);
    if (v instanceof Date) v = v.toISOString();
    if (m.transform) v = applyTransform(m.transform, v, plan.hashKey);
    if (v !== DROPPED) data[m.mapping.destination] = v;
  }
  const rawPrompt = String(valueOf(plan.prompt, scope) ?? '');
  const promptText = fillPlaceholders(rawPrompt, (name) => {
    const t = transformed.get(name.toLowerCase());
    const v = scope.field(name);
    if (!t) return v;
    const out = applyTransform(t, v, plan.hashKey);
    return out === DROPPED ? null : out;
  });
  const id = typeof data.Id === 'string' && data.Id ? data.Id : (customer.customerNumber ?? '');
  return {
    id,
    promptText,
    data,
    promptVersion: plan.promptVersion.id,
    safetyIdentifier: customer.customerNumber ? safetyIdentifier(customer.customerNumber, plan.hashKey) : null,
  };
}
