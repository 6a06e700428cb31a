/**
 * Test helper: validates bodies against the OpenAI OpenAPI subset (openai/openai-openapi, MIT) kept in
 * the steering repo's shared/ folder: <repo>/../shared/domain/openai/openapi-subset.json, or
 * /work/shared/domain/openai/openapi-subset.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CANDIDATES = [
  path.resolve(repoRoot, '../shared/domain/openai/openapi-subset.json'),
  '/work/shared/domain/openai/openapi-subset.json',
];

export type SpecSchemaName =
  | 'Response'
  | 'CreateChatCompletionResponse'
  | 'ListModelsResponse'
  | 'Model'
  | 'ErrorResponse'
  | 'OpenAIFile'
  | 'Batch';

export interface SpecValidator {
  /** Returns null when valid, else ajv's error list as text. */
  check(schema: SpecSchemaName, body: unknown): string | null;
}

export function loadSpecValidator(): SpecValidator {
  const file = CANDIDATES.find((f) => existsSync(f));
  if (!file) throw new Error(`openapi-subset.json not found; looked in: ${CANDIDATES.join(', ')}`);
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addFormat('unixtime', true);
  ajv.addSchema({ ...spec, $id: 'openai-spec' });
  return {
    check(name, body) {
      const validate = ajv.getSchema(`openai-spec#/components/schemas/${name}`);
      if (!validate) throw new Error(`schema ${name} not in the spec subset`);
      return validate(body) ? null : ajv.errorsText(validate.errors, { separator: '\n' });
    },
  };
}

/** The error a promise rejects with (the test fails when it resolves). */
export async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}
