import { createHash } from 'node:crypto';
import type { Mapping } from '../config/schema.js';
import { parseTransform, type Transform } from './transforms.js';
import type { ActiveCollections } from './collections.js';
import { isResponseMetadata } from './collections.js';
import { checkFields, fieldNotFoundError, promptTextError } from './check-fields.js';
import type { FieldCatalog } from './field-catalog.js';
import { compileFormula, type CompiledFormula } from './formula.js';
import { promptTextMapping } from './prompt-text.js';

/** A field the model must fill in its answer, typed by the iPaaS.com field it lands in. */
export interface AnswerField {
  name: string;
  dataType: string;
  description: string | undefined;
}

/** Where a TO mapping writes: a writable standard field (its mapping name and API field) or a custom field. */
export type WriteTarget = { kind: 'standard'; field: string; apiField: string } | { kind: 'custom'; name: string };

export interface CompiledMapping {
  mapping: Mapping;
  formula: CompiledFormula | undefined;
  /** What is done to the value before it leaves (FROM mappings). */
  transform?: Transform | undefined;
}

/** The PromptText as configured (before placeholders are filled), and its short hash: trials and attempts name it. */
export interface PromptVersion {
  id: string;
  text: string;
}

export interface ToTarget extends CompiledMapping {
  destination: string;
  target: WriteTarget;
  dataType: string;
}

/** The mappings checked against iPaaS.com and compiled once, ready for every record. */
export interface MappingPlan {
  collections: ActiveCollections;
  catalog: FieldCatalog;
  from: CompiledMapping[];
  prompt: CompiledMapping;
  answerFields: AnswerField[];
  targets: ToTarget[];
  promptVersion: PromptVersion;
  /** Key of the hash transform and of the safety identifier (a secret, kept in memory only). */
  hashKey?: string | undefined;
}

const compile = (m: Mapping): CompiledMapping => ({
  mapping: m,
  formula: m.type === 'Formula' ? compileFormula(m.source) : undefined,
  transform: m.transform ? parseTransform(m.transform) : undefined,
});

/** A PromptText's version: its kind and text, hashed. The same text is the same version wherever it runs. */
export function promptVersionOf(m: Mapping): PromptVersion {
  const text = m.type === 'Static' ? m.source : `${m.type}: ${m.source}`;
  return { id: createHash('sha256').update(text).digest('hex').slice(0, 10), text };
}

/** Builds the plan, or throws: no PromptText, or "Request field not found." naming every missing field. */
export function buildMappingPlan(collections: ActiveCollections, catalog: FieldCatalog, plannedTypes: Record<string, string> = {}, hashKey?: string): MappingPlan {
  const noPrompt = promptTextError(collections);
  if (noPrompt) throw noPrompt;
  const problems = checkFields(collections, catalog, plannedTypes);
  if (problems.length) throw fieldNotFoundError(problems);

  const promptMapping = promptTextMapping(collections.from)!;
  const from = collections.from.mappings.filter((m) => m !== promptMapping).map(compile);

  const targets: ToTarget[] = collections.to.mappings.map((m) => {
    const standard = catalog.isStandard(m.destination) ? m.destination : undefined;
    const custom = standard ? undefined : catalog.customField(m.destination)!;
    return {
      ...compile(m),
      destination: m.destination,
      target: standard ? { kind: 'standard', field: standard, apiField: collections.model.writable[standard]! } : { kind: 'custom', name: custom!.name },
      dataType: standard ? 'string' : custom!.dataType,
    };
  });

  // Answer fields: what the TO mappings read that is not response metadata.
  const answer = new Map<string, AnswerField>();
  for (const t of targets) {
    const reads = t.formula ? t.formula.fields : t.mapping.type === 'Field' ? [t.mapping.source] : [];
    for (const name of reads) {
      if (isResponseMetadata(name) || answer.has(name)) continue;
      const direct = t.mapping.type === 'Field';
      answer.set(name, { name, dataType: direct ? t.dataType : 'string', description: direct ? t.mapping.description : undefined });
    }
  }
  return { collections, catalog, from, prompt: compile(promptMapping), answerFields: [...answer.values()], targets, promptVersion: promptVersionOf(promptMapping), hashKey };
}
