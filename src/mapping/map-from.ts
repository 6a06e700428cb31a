import type { IpaasRecord } from '../ipaas/entities.js';
import { evaluateFormula, type FormulaScope } from './formula.js';
import type { CompiledMapping, MappingPlan } from './mapping-plan.js';
import { fillPlaceholders } from './prompt-text.js';
import { applyTransform, DROPPED, safetyIdentifier, type Transform } from './transforms.js';

export interface MappedRequest {
  /** The OpenAI request's Id: the record's identity (CustomerNumber, SKU). */
  id: string;
  promptText: string;
  /** The customer's mapped fields, sent as JSON data (never as instructions), each as its transform left it. */
  data: Record<string, unknown>;
  /** The PromptText's version (plan.promptVersion.id). */
  promptVersion: string;
  /** A hash of the identity for OpenAI's safety_identifier; null without one. */
  safetyIdentifier: string | null;
}

/** What formulas and Field mappings read: the record's standard fields by name, else its custom fields. */
export function recordScope(record: IpaasRecord, now: () => Date): FormulaScope {
  return {
    field: (name) => {
      if (Object.hasOwn(record.fields, name)) return record.fields[name];
      const hit = Object.entries(record.customFields).find(([k]) => k.toLowerCase() === name.toLowerCase());
      return hit ? hit[1] : null;
    },
    customFields: record.customFields,
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
 * Maps a record FROM iPaaS.com into the OpenAI request: only mapped fields
 * travel (child collections such as addresses never do).
 */
export function mapFrom(plan: MappingPlan, record: IpaasRecord, now: () => Date = () => new Date()): MappedRequest {
  const scope = recordScope(record, now);
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
  const id = typeof data.Id === 'string' && data.Id ? data.Id : (record.number ?? '');
  return {
    id,
    promptText,
    data,
    promptVersion: plan.promptVersion.id,
    safetyIdentifier: record.number ? safetyIdentifier(record.number, plan.hashKey) : null,
  };
}
