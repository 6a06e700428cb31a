/**
 * Structured Outputs strict-mode rules (json_schema with strict:true). Returns the detail of the
 * first violation in OpenAI's wording, e.g. "In context=('properties', 'x'), 'additionalProperties'
 * is required to be supplied and to be false.", or null when the schema is accepted.
 */

export const UNSUPPORTED_KEYWORDS = [
  'allOf',
  'not',
  'if',
  'then',
  'else',
  'dependentRequired',
  'dependentSchemas',
  'patternProperties',
  'propertyNames',
  'prefixItems',
  'contains',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
] as const;

const SUPPORTED_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
export const MAX_NESTING_DEPTH = 10;
export const MAX_PROPERTIES = 5000;

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Python tuple repr, as OpenAI prints contexts: (), ('items',), ('properties', 'x'). */
function context(path: string[]): string {
  const inner = path.map((p) => `'${p}'`).join(', ');
  return `In context=(${inner}${path.length === 1 ? ',' : ''})`;
}

class Violation extends Error {}

export function resolveRef(root: Json, ref: string): unknown {
  if (ref === '#') return root;
  const m = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
  if (!m) return undefined;
  const defs = root[m[1] as string];
  if (!isRecord(defs)) return undefined;
  // JSON pointer: only one level, with ~1 / ~0 unescaped.
  const name = (m[2] as string).replace(/~1/g, '/').replace(/~0/g, '~');
  return defs[name];
}

export function validateStrictSchema(schema: unknown): string | null {
  if (!isRecord(schema) || schema.type !== 'object' || 'anyOf' in schema) {
    const got = isRecord(schema) && schema.type !== undefined ? JSON.stringify(schema.type) : 'None';
    return `schema must be a JSON Schema of 'type: "object"', got 'type: ${got}'.`;
  }
  let propertyCount = 0;

  const walk = (node: unknown, path: string[], depth: number): void => {
    if (!isRecord(node)) throw new Violation(`${context(path)}, schema must be a JSON Schema object.`);
    for (const kw of UNSUPPORTED_KEYWORDS) {
      if (kw in node) throw new Violation(`${context(path)}, '${kw}' is not permitted.`);
    }
    for (const defsKey of ['$defs', 'definitions']) {
      const defs = node[defsKey];
      if (isRecord(defs)) for (const [name, def] of Object.entries(defs)) walk(def, [...path, defsKey, name], depth);
    }
    if (typeof node.$ref === 'string') {
      if (resolveRef(schema, node.$ref) === undefined) {
        throw new Violation(`${context(path)}, reference to component '${node.$ref}' which was not found in the schema.`);
      }
      return;
    }
    if (Array.isArray(node.anyOf)) {
      node.anyOf.forEach((branch, i) => walk(branch, [...path, 'anyOf', String(i)], depth));
      return;
    }
    const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
    for (const t of types) {
      if (typeof t !== 'string' || !SUPPORTED_TYPES.has(t)) throw new Violation(`${context(path)}, type '${String(t)}' is not supported.`);
    }
    if (types.length === 0 && !('enum' in node) && !('const' in node)) {
      throw new Violation(`${context(path)}, schema must have a 'type' key.`);
    }
    if (types.includes('object') || 'properties' in node) {
      if (depth > MAX_NESTING_DEPTH) {
        throw new Violation(`${context(path)}, schema exceeds the maximum nesting depth of ${MAX_NESTING_DEPTH} levels.`);
      }
      if (node.additionalProperties !== false) {
        throw new Violation(`${context(path)}, 'additionalProperties' is required to be supplied and to be false.`);
      }
      const properties = isRecord(node.properties) ? node.properties : {};
      const keys = Object.keys(properties);
      const required = node.required;
      const requiredMessage = `${context(path)}, 'required' is required to be supplied and to be an array including every key in properties.`;
      if (!Array.isArray(required)) {
        if (keys.length > 0) throw new Violation(`${requiredMessage} Missing '${keys[0] as string}'.`);
      } else {
        const missing = keys.find((k) => !required.includes(k));
        if (missing !== undefined) throw new Violation(`${requiredMessage} Missing '${missing}'.`);
        const extra = required.find((k) => typeof k !== 'string' || !keys.includes(k));
        if (extra !== undefined) throw new Violation(`${requiredMessage} Extra required key '${String(extra)}' supplied.`);
      }
      propertyCount += keys.length;
      if (propertyCount > MAX_PROPERTIES) {
        throw new Violation(`The schema has more than ${MAX_PROPERTIES} object properties, which exceeds the maximum of ${MAX_PROPERTIES}.`);
      }
      for (const k of keys) walk(properties[k], [...path, 'properties', k], depth + 1);
    }
    if (types.includes('array')) {
      if (!('items' in node)) throw new Violation(`${context(path)}, 'items' is required to be supplied for type 'array'.`);
      walk(node.items, [...path, 'items'], depth);
    }
  };

  try {
    walk(schema, [], 1);
    return null;
  } catch (e) {
    if (e instanceof Violation) return e.message;
    throw e;
  }
}
