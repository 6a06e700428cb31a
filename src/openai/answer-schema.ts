import { z } from 'zod';
import type { AnswerField } from '../mapping/mapping-plan.js';

export const ANSWER_SCHEMA_NAME = 'customer_enrichment';

function fieldSchema(f: AnswerField): z.ZodType {
  switch (f.dataType) {
    case 'bool':
      return z.enum(['TRUE', 'FALSE']);
    case 'number':
      return z.number();
    case 'date':
      return z.string().describe('A date as YYYY-MM-DD.');
    case 'datetime':
      return z.string().describe('A date and time in ISO 8601.');
    default:
      return z.string();
  }
}

/**
 * The structured-output schema: exactly the answer fields the TO mappings
 * read, each typed by the iPaaS.com field it lands in. Strict: a key outside
 * this list is a schema violation, never data.
 */
export function buildAnswerSchema(fields: AnswerField[]): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const f of fields) {
    const base = fieldSchema(f);
    shape[f.name] = f.description ? base.describe(f.description) : base;
  }
  return z.object(shape).strict();
}

export function describeType(f: AnswerField): string {
  switch (f.dataType) {
    case 'bool': return 'TRUE or FALSE';
    case 'number': return 'number';
    case 'date': return 'date, YYYY-MM-DD';
    case 'datetime': return 'date and time, ISO 8601';
    default: return 'text';
  }
}
