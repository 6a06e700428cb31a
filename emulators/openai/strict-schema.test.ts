import { describe, expect, it } from 'vitest';
import { validateStrictSchema } from './strict-schema.js';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});

describe('validateStrictSchema', () => {
  it('accepts what zodTextFormat produces: nested objects, arrays, enum, nullable, anyOf, $defs/$ref, recursion', () => {
    const schema = {
      ...obj({
        a: { type: 'string', enum: ['x', 'y'] },
        b: { type: ['string', 'null'] },
        c: { anyOf: [{ type: 'number' }, { type: 'null' }] },
        d: { type: 'array', items: obj({ e: { type: 'integer' } }) },
        f: { $ref: '#/$defs/Node' },
        g: { const: 'k' },
      }),
      $defs: { Node: obj({ children: { type: 'array', items: { $ref: '#/$defs/Node' } } }) },
    };
    expect(validateStrictSchema(schema)).toBeNull();
  });

  it("rejects a missing additionalProperties:false, naming the context like OpenAI", () => {
    expect(validateStrictSchema({ type: 'object', properties: { x: { type: 'string' } }, required: ['x'] })).toBe(
      "In context=(), 'additionalProperties' is required to be supplied and to be false.",
    );
    const nested = obj({ x: { type: 'object', properties: { y: { type: 'string' } }, required: ['y'] } });
    expect(validateStrictSchema(nested)).toBe(
      "In context=('properties', 'x'), 'additionalProperties' is required to be supplied and to be false.",
    );
  });

  it('rejects properties missing from required, and extra required keys', () => {
    expect(validateStrictSchema(obj({ a: { type: 'string' }, k: { type: 'string' } }, { required: ['a'] }))).toBe(
      "In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'k'.",
    );
    expect(validateStrictSchema(obj({ a: { type: 'string' } }, { required: ['a', 'z'] }))).toMatch(/Extra required key 'z' supplied\.$/);
  });

  it('rejects a non-object root, unsupported keywords, dangling refs and typeless nodes', () => {
    expect(validateStrictSchema({ type: 'array', items: { type: 'string' } })).toBe(
      `schema must be a JSON Schema of 'type: "object"', got 'type: "array"'.`,
    );
    expect(validateStrictSchema(obj({ a: { allOf: [{ type: 'string' }] } }))).toBe("In context=('properties', 'a'), 'allOf' is not permitted.");
    expect(validateStrictSchema(obj({ a: { type: 'array', items: { type: 'string' }, uniqueItems: true } }))).toBe(
      "In context=('properties', 'a'), 'uniqueItems' is not permitted.",
    );
    expect(validateStrictSchema(obj({ a: { $ref: '#/$defs/Nope' } }))).toMatch(/reference to component '#\/\$defs\/Nope'/);
    expect(validateStrictSchema(obj({ a: {} }))).toBe("In context=('properties', 'a'), schema must have a 'type' key.");
    expect(validateStrictSchema(obj({ a: { type: 'array', items: { type: 'object', properties: {} } } }))).toBe(
      "In context=('properties', 'a', 'items'), 'additionalProperties' is required to be supplied and to be false.",
    );
  });
});
