import { STANDARD_FIELDS, isStandardField, type Customer } from '../ipaas/customer-model.js';
import { evaluateFormula, type FormulaScope } from './formula.js';
import type { CompiledMapping, MappingPlan } from './mapping-plan.js';
import { fillPlaceholders } from './prompt-text.js';

export interface MappedRequest {
  /** The OpenAI request's Id: the customer's CustomerNumber. */
  id: string;
  promptText: string;
  /** The customer's mapped fields, sent as JSON data (never as instructions). */
  data: Record<string, unknown>;
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
  for (const m of plan.from) {
    const v = valueOf(m, scope);
    data[m.mapping.destination] = v instanceof Date ? v.toISOString() : v;
  }
  const rawPrompt = String(valueOf(plan.prompt, scope) ?? '');
  const promptText = fillPlaceholders(rawPrompt, (name) => scope.field(name));
  const id = typeof data.Id === 'string' && data.Id ? data.Id : (customer.customerNumber ?? '');
  return { id, promptText, data };
}
