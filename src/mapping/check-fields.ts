import type { Mapping, MappingCollection } from '../config/schema.js';
import { ConnectorError } from '../shared/errors.js';
import type { ActiveCollections } from './collections.js';
import type { FieldCatalog } from './field-catalog.js';
import { compileFormula } from './formula.js';
import { namedCustomFields, placeholders, promptTextMapping } from './prompt-text.js';

export interface FieldProblem {
  field: string;
  where: string;
  fix: string;
}

const describe = (c: MappingCollection, m: Mapping) =>
  `mapping #${c.mappings.indexOf(m) + 1} (${m.type} ${m.type === 'Static' ? 'text' : JSON.stringify(m.source)} -> ${m.destination}) of "${c.name}"`;

const createFix = (field: string, module: string, dataType?: string) =>
  `Create the custom field "${field}" in iPaaS.com (module ${module}${dataType ? `, data type ${dataType}` : ''}) or turn on sync.autoCreateCustomFields; or change the mapping to a field that exists.`;

/**
 * Every field the mappings reference must exist in iPaaS.com before anything
 * is sent to OpenAI (the seed's "Request field not found.").
 */
export function checkFields(active: ActiveCollections, catalog: FieldCatalog, plannedTypes: Record<string, string> = {}): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { from, to } = active;
  const { model } = active;
  const missing = (field: string, where: string, fix = createFix(field, model.label, plannedTypes[field.toLowerCase()])) => problems.push({ field, where, fix });

  for (const m of from.mappings) {
    if (m.type === 'Field' && !catalog.has(m.source)) missing(m.source, describe(from, m));
    if (m.type === 'Formula') {
      const f = compileFormula(m.source);
      for (const name of f.fields) if (!catalog.has(name)) missing(name, describe(from, m));
      for (const name of f.customFields) if (!catalog.customField(name)) missing(name, describe(from, m));
    }
  }

  // A missing or empty PromptText is not a missing iPaaS.com field: promptTextError() reports it.
  const prompt = promptTextMapping(from);
  if (prompt?.type === 'Static') {
    for (const name of placeholders(prompt.source)) if (!catalog.has(name)) missing(name, `a {{${name}}} placeholder in the PromptText of "${from.name}"`);
    for (const name of namedCustomFields(prompt.source)) {
      if (!catalog.customField(name)) missing(name, `the PromptText of "${from.name}" ("custom field named ${name}")`);
    }
  }

  for (const m of to.mappings) {
    if (catalog.isStandard(m.destination)) {
      if (!Object.hasOwn(model.writable, m.destination)) {
        const writable = Object.keys(model.writable);
        problems.push({
          field: m.destination,
          where: describe(to, m),
          fix: `The connector writes ${writable.length ? `${writable.join(', ')} and ` : ''}custom fields of a ${model.label}; map the answer to a custom field instead of ${m.destination}.`,
        });
      }
    } else if (!catalog.customField(m.destination)) {
      missing(m.destination, describe(to, m));
    }
    if (m.type === 'Formula') {
      const f = compileFormula(m.source);
      for (const name of f.customFields) if (!catalog.customField(name)) missing(name, describe(to, m));
    }
    if (m.type === 'Field' && !m.source.trim()) problems.push({ field: '(empty)', where: describe(to, m), fix: 'Name the answer field or response value (ResponseId, ResponseDate, PromptText, Model, Id) to copy.' });
  }
  return problems;
}

/**
 * The FROM collection must tell OpenAI what to do: a PromptText mapping whose static text is not blank.
 * This is a configuration mistake, reported before any field check, call or custom field creation.
 */
export function promptTextError(active: ActiveCollections): ConnectorError | undefined {
  const prompt = promptTextMapping(active.from);
  const where = `the FROM collection "${active.from.name}"`;
  if (!prompt) {
    return new ConnectorError('CONFIG_INVALID', `There is no PromptText in ${where}: OpenAI would not be told what to do with the customer.`, {
      fix: `Add a mapping { type: Static, destination: PromptText, source: "<instructions>" } to "${active.from.name}" in the config file, then run \`ipaas-openai validate\`.`,
      details: { field: 'PromptText' },
    });
  }
  if (prompt.type === 'Static' && !prompt.source.trim()) {
    return new ConnectorError('CONFIG_INVALID', `The PromptText of ${where} is empty: OpenAI would not be told what to do with the customer.`, {
      fix: `Write the instructions into the source of the Static PromptText mapping of "${active.from.name}" in the config file, then run \`ipaas-openai validate\`.`,
      details: { field: 'PromptText' },
    });
  }
  return undefined;
}

export function fieldNotFoundError(problems: FieldProblem[]): ConnectorError {
  const lines = problems.map((p) => `"${p.field}" referenced by ${p.where}`);
  return new ConnectorError('REQUEST_FIELD_NOT_FOUND', `Request field not found. ${lines.join('; ')} ${lines.length > 1 ? 'do' : 'does'} not exist in iPaaS.com.`, {
    fix: [...new Set(problems.map((p) => p.fix))].join(' '),
    details: { fields: problems.map((p) => p.field) },
  });
}

