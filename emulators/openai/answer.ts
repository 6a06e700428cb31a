/**
 * The emulator's "model": deterministic answers that fit the requested JSON schema, computed from the
 * customer data in the user message. Tests (here and in the product) assert these exact values.
 *
 * Rules, per schema property (walking nested objects, arrays, $ref, anyOf / nullable type arrays,
 * always taking the first non-null branch):
 * - const -> the const;
 * - name (else description) matches /comment|summary/i and the type is a plain string -> buildSummary();
 * - name (else description) matches /film|imdb|movie/i -> known to film: 'TRUE'/'FALSE' (string, or the
 *   matching enum member), true/false (boolean), per isKnownToFilm(FirstName, LastName). The "gullible
 *   model" answers TRUE when the user text contains "ignore previous instructions" (any case);
 * - enum -> member picked by stableHash(path, userText); string -> "<propertyName> for <CustomerNumber|Id|'record'>"
 *   (format date-time/date/time/email/uuid/uri handled, minLength padded with '.', maxLength truncated);
 *   number/integer -> hash-derived within minimum/maximum (default 0..100); boolean -> hash-derived;
 *   array -> max(1, minItems) elements (0 when maxItems is 0); object -> every property, in order.
 * The instructions (the PromptText) shape the summary, so that two prompts can be told apart: asking for
 * "one line" (or "single line", "one sentence") gives the same facts on one line joined by " · ";
 * asking for "uppercase" (or "capital letters") gives it in capitals; otherwise the bulleted lines.
 */
import { createHash } from 'node:crypto';
import { isKnownToFilm } from './known-to-film.js';
import { resolveRef } from './strict-schema.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const COMMENT_RE = /comment|summary/i;
const FILM_RE = /film|imdb|movie/i;
const GULLIBLE_RE = /ignore previous instructions/i;
const MAX_DEPTH = 12;
const SCALAR_TYPES = new Set(['string', 'boolean', 'integer', 'number']);

// ---------------------------------------------------------------------------------------------
// Customer data

/**
 * The customer object in the user text: the whole text as JSON, else the span from the first '{' to
 * the last '}' as JSON; null when neither parses to an object.
 */
export function parseCustomerData(text: string): Json | null {
  const attempts = [text.trim()];
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) attempts.push(text.slice(start, end + 1));
  for (const a of attempts) {
    try {
      const v: unknown = JSON.parse(a);
      if (isRecord(v)) return v;
    } catch {
      // not JSON: try the next candidate
    }
  }
  return null;
}

const normalizeKey = (k: string): string => k.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Case- and separator-insensitive lookup (FirstName = first_name = firstName), one nested level deep. */
function lookup(data: Json, aliases: string[]): unknown {
  const wanted = new Set(aliases.map(normalizeKey));
  for (const [k, v] of Object.entries(data)) if (wanted.has(normalizeKey(k))) return v;
  for (const v of Object.values(data)) {
    if (!isRecord(v)) continue;
    for (const [k, inner] of Object.entries(v)) if (wanted.has(normalizeKey(k))) return inner;
  }
  return undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

export interface CustomerFields {
  firstName?: string;
  lastName?: string;
  customerNumber?: string;
  id?: string;
  email?: string;
  company?: string;
  categories: string[];
}

function categoryName(c: unknown): string | undefined {
  if (isRecord(c)) return text(lookup(c, ['Name', 'CategoryName', 'Category', 'Description', 'Value']));
  return text(c);
}

export function customerFields(data: Json | null): CustomerFields {
  if (!data) return { categories: [] };
  const rawCategories = lookup(data, ['Categories']);
  const categories = Array.isArray(rawCategories)
    ? rawCategories.map(categoryName).filter((c): c is string => c !== undefined)
    : text(rawCategories) !== undefined
      ? [text(rawCategories) as string]
      : [];
  return {
    firstName: text(lookup(data, ['FirstName'])),
    lastName: text(lookup(data, ['LastName'])),
    customerNumber: text(lookup(data, ['CustomerNumber'])),
    id: text(lookup(data, ['Id'])),
    email: text(lookup(data, ['EmailAddress', 'Email'])),
    company: text(lookup(data, ['Company', 'CompanyName'])),
    categories,
  };
}

/** True when the text contains a prompt injection the emulated model falls for. */
export function isGullible(userText: string): boolean {
  return GULLIBLE_RE.test(userText);
}

/** What the emulated model answers for "known to film": the fixed list, or TRUE when fooled. */
export function answersKnownToFilm(data: Json | string): boolean {
  const raw = typeof data === 'string' ? data : JSON.stringify(data);
  const f = customerFields(typeof data === 'string' ? parseCustomerData(data) : data);
  return isGullible(raw) || isKnownToFilm(f.firstName, f.lastName);
}

function summaryLines(f: CustomerFields, film: boolean | undefined, rawText: string): string[] {
  const lines: string[] = [];
  const name = [f.firstName, f.lastName].filter(Boolean).join(' ');
  if (name) lines.push(`- Name: ${name}`);
  const number = f.customerNumber ?? f.id;
  if (number) lines.push(`- Customer number: ${number}`);
  if (f.email) lines.push(`- Email: ${f.email}`);
  if (f.company) lines.push(`- Company: ${f.company}`);
  if (f.categories.length > 0) lines.push(`- Categories: ${f.categories.join(', ')}`);
  if (lines.length === 0 && rawText.trim() !== '') lines.push(`- Text: ${rawText.replace(/\s+/g, ' ').trim().slice(0, 200)}`);
  if (film !== undefined) lines.push(`- Known to film: ${film ? 'yes' : 'no'}`);
  return lines;
}

/**
 * The bulleted summary the emulated model writes into comment/summary properties:
 * "- Name: F L", "- Customer number: N", "- Email: E", "- Company: C", "- Categories: A, B",
 * "- Known to film: yes|no" (only withFilm), in this order, absent or empty fields omitted, joined
 * with "\n". `data` is the customer object (or the raw user text). Without any of those fields the
 * only line is "- Text: <the user text, whitespace collapsed, first 200 chars>".
 */
export function buildSummary(data: Json | string, withFilm: boolean): string {
  const raw = typeof data === 'string' ? data : JSON.stringify(data);
  const parsed = typeof data === 'string' ? parseCustomerData(data) : data;
  return summaryLines(customerFields(parsed), withFilm ? answersKnownToFilm(data) : undefined, parsed ? '' : raw).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Schema-driven generation

export function stableHash(path: string, input: string): number {
  return createHash('sha256').update(path).update('\u0000').update(input).digest().readUInt32BE(0);
}

interface GenContext {
  root: Json;
  userText: string;
  instructions: string;
  data: Json | null;
  fields: CustomerFields;
  film: boolean;
  withFilm: boolean;
}

/** Resolves $ref, anyOf and nullable type arrays to the first non-null concrete schema. */
function concrete(root: Json, node: unknown, depth = 0): Json {
  if (!isRecord(node) || depth > MAX_DEPTH) return {};
  if (typeof node.$ref === 'string') {
    const target = resolveRef(root, node.$ref);
    const resolved = concrete(root, target, depth + 1);
    return typeof node.description === 'string' && resolved.description === undefined
      ? { ...resolved, description: node.description }
      : resolved;
  }
  const branches = Array.isArray(node.anyOf) ? node.anyOf : Array.isArray(node.oneOf) ? node.oneOf : undefined;
  if (branches) {
    const pick = branches.find((b) => !(isRecord(b) && b.type === 'null')) ?? branches[0];
    const resolved = concrete(root, pick, depth + 1);
    return typeof node.description === 'string' && resolved.description === undefined
      ? { ...resolved, description: node.description }
      : resolved;
  }
  if (Array.isArray(node.allOf)) {
    return node.allOf.reduce<Json>((acc, part) => {
      const c = concrete(root, part, depth + 1);
      return {
        ...acc,
        ...c,
        properties: { ...(isRecord(acc.properties) ? acc.properties : {}), ...(isRecord(c.properties) ? c.properties : {}) },
      };
    }, {});
  }
  return node;
}

function primaryType(node: Json): string {
  if (Array.isArray(node.type)) {
    const t = node.type.find((x) => x !== 'null');
    return typeof t === 'string' ? t : 'null';
  }
  if (typeof node.type === 'string') return node.type;
  if ('properties' in node) return 'object';
  if ('items' in node) return 'array';
  return 'string';
}

type Role = 'comment' | 'film' | null;

function roleOf(name: string, node: Json): Role {
  const description = typeof node.description === 'string' ? node.description : '';
  if (COMMENT_RE.test(name)) return 'comment';
  if (FILM_RE.test(name)) return 'film';
  if (COMMENT_RE.test(description)) return 'comment';
  if (FILM_RE.test(description)) return 'film';
  return null;
}

function filmValue(node: Json, type: string, film: boolean, hash: number): unknown {
  if (Array.isArray(node.enum) && node.enum.length > 0) {
    const truthy = /^(true|yes|y|1)$/i;
    const falsy = /^(false|no|n|0)$/i;
    const hit = node.enum.find((e) => (typeof e === 'boolean' ? e === film : (film ? truthy : falsy).test(String(e))));
    return hit !== undefined ? hit : node.enum[hash % node.enum.length];
  }
  if (type === 'boolean') return film;
  if (type === 'integer' || type === 'number') return film ? 1 : 0;
  return film ? 'TRUE' : 'FALSE';
}

function fitLength(s: string, node: Json): string {
  let out = s;
  if (typeof node.minLength === 'number' && out.length < node.minLength) out = out.padEnd(node.minLength, '.');
  if (typeof node.maxLength === 'number' && out.length > node.maxLength) out = out.slice(0, Math.max(0, node.maxLength));
  return out;
}

function dateFromHash(hash: number): Date {
  const base = Date.UTC(2020, 0, 1);
  return new Date(base + (hash % 2000) * 86_400_000);
}

function stringValue(node: Json, name: string, ctx: GenContext, hash: number): string {
  const d = dateFromHash(hash);
  const iso = d.toISOString().slice(0, 10);
  switch (node.format) {
    case 'date-time':
      return `${iso}T00:00:00Z`;
    case 'date':
      return iso;
    case 'time':
      return '12:00:00Z';
    case 'email':
      return `${normalizeKey(name) || 'customer'}${hash % 1000}@example.com`;
    case 'uuid': {
      const h = createHash('sha256').update(String(hash)).digest('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    }
    case 'uri':
      return `https://example.com/${encodeURIComponent(name)}`;
    default:
      return fitLength(`${name} for ${ctx.fields.customerNumber ?? ctx.fields.id ?? 'record'}`, node);
  }
}

function numberValue(node: Json, integer: boolean, hash: number): number {
  const min = typeof node.minimum === 'number' ? node.minimum : typeof node.exclusiveMinimum === 'number' ? node.exclusiveMinimum + (integer ? 1 : 0.01) : undefined;
  const max = typeof node.maximum === 'number' ? node.maximum : typeof node.exclusiveMaximum === 'number' ? node.exclusiveMaximum - (integer ? 1 : 0.01) : undefined;
  const lo = min ?? (max !== undefined ? Math.min(0, max - 100) : 0);
  const hi = max ?? lo + 100;
  if (hi <= lo) return lo;
  if (integer) return Math.ceil(lo) + (hash % (Math.floor(hi) - Math.ceil(lo) + 1));
  return Math.min(hi, Math.round((lo + ((hash % 10_000) / 10_000) * (hi - lo)) * 100) / 100);
}

function generate(rawNode: unknown, name: string, path: string, ctx: GenContext, depth: number): unknown {
  const node = concrete(ctx.root, rawNode);
  const type = primaryType(node);
  const hash = stableHash(path, ctx.userText);
  if ('const' in node) return node.const;
  if (depth > MAX_DEPTH) return type === 'array' ? [] : null;
  const role = roleOf(name, node);
  if (role === 'film' && (Array.isArray(node.enum) || SCALAR_TYPES.has(type))) return filmValue(node, type, ctx.film, hash);
  if (role === 'comment' && type === 'string' && !Array.isArray(node.enum)) {
    return fitLength(styled(summaryLines(ctx.fields, ctx.withFilm ? ctx.film : undefined, ctx.data ? '' : ctx.userText), ctx.instructions), node);
  }
  if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[hash % node.enum.length];
  switch (type) {
    case 'object': {
      const out: Json = {};
      const props = isRecord(node.properties) ? node.properties : {};
      for (const [k, v] of Object.entries(props)) out[k] = generate(v, k, `${path}.${k}`, ctx, depth + 1);
      return out;
    }
    case 'array': {
      const count = node.maxItems === 0 ? 0 : Math.max(1, typeof node.minItems === 'number' ? node.minItems : 1);
      return Array.from({ length: count }, (_, i) => generate(node.items, name, `${path}[${i}]`, ctx, depth + 1));
    }
    case 'integer':
      return numberValue(node, true, hash);
    case 'number':
      return numberValue(node, false, hash);
    case 'boolean':
      return hash % 2 === 0;
    case 'null':
      return null;
    default:
      return stringValue(node, name, ctx, hash);
  }
}

/** True when some property anywhere in the schema is a "known to film" property. */
export function schemaHasFilmProperty(schema: unknown): boolean {
  if (!isRecord(schema)) return false;
  const root = schema;
  const seen = new Set<unknown>();
  const visit = (raw: unknown, name: string, depth: number): boolean => {
    if (depth > MAX_DEPTH || seen.has(raw)) return false;
    seen.add(raw);
    const node = concrete(root, raw);
    if (name !== '' && roleOf(name, node) === 'film') return true;
    const props = isRecord(node.properties) ? node.properties : {};
    if (Object.entries(props).some(([k, v]) => visit(v, k, depth + 1))) return true;
    return 'items' in node && visit(node.items, name, depth + 1);
  };
  return visit(root, '', 0);
}

const ONE_LINE_RE = /one[- ]line|single line|one sentence/i;
const UPPER_RE = /upper ?case|capital letters/i;

/** The summary lines as the instructions ask for them (see the rules above). */
function styled(lines: string[], instructions: string): string {
  let out = ONE_LINE_RE.test(instructions) ? lines.map((l) => l.replace(/^- /, '')).join(' · ') : lines.join('\n');
  if (UPPER_RE.test(instructions)) out = out.toUpperCase();
  return out;
}

/** The JSON value the emulated model answers for `schema` given the user text (and the instructions, which style the summary). */
export function generateAnswer(schema: unknown, userText: string, instructions = ''): unknown {
  const root = isRecord(schema) ? schema : {};
  const data = parseCustomerData(userText);
  const fields = customerFields(data);
  const ctx: GenContext = {
    root,
    userText,
    instructions,
    data,
    fields,
    film: isGullible(userText) || isKnownToFilm(fields.firstName, fields.lastName),
    withFilm: schemaHasFilmProperty(root),
  };
  return generate(root, 'answer', '$', ctx, 0);
}

/** The plain-text answer (no json_schema format): the summary of the customer data. */
export function generateTextAnswer(userText: string): string {
  return buildSummary(userText, false);
}

// ---------------------------------------------------------------------------------------------
// Fault mutations

/** 'extra-fields' fault: what a non-compliant OpenAI-compatible server might add. */
export function addExtraFields(answer: unknown): unknown {
  if (!isRecord(answer)) return answer;
  return { ...answer, EmailAddress: 'attacker@example.com', FirstName: 'Hacked' };
}

/**
 * 'wrong-type' fault: "MAYBE" replaces the first enum or boolean property (depth-first, schema order);
 * without one, 12345 replaces the first string property.
 */
export function applyWrongType(answer: unknown, schema: unknown): unknown {
  const root = isRecord(schema) ? schema : {};
  const copy: unknown = structuredClone(answer);
  const find = (value: unknown, raw: unknown, test: (n: Json) => boolean, replacement: unknown, depth: number): boolean => {
    if (!isRecord(value) || depth > MAX_DEPTH) return false;
    const node = concrete(root, raw);
    const props = isRecord(node.properties) ? node.properties : {};
    for (const [k, v] of Object.entries(props)) {
      const child = concrete(root, v);
      if (test(child)) {
        value[k] = replacement;
        return true;
      }
      if (find(value[k], v, test, replacement, depth + 1)) return true;
    }
    return false;
  };
  const isEnumOrBool = (n: Json): boolean => Array.isArray(n.enum) || primaryType(n) === 'boolean';
  if (!find(copy, root, isEnumOrBool, 'MAYBE', 0)) find(copy, root, (n) => primaryType(n) === 'string', 12345, 0);
  return copy;
}
