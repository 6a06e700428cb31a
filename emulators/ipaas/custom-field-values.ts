/**
 * Custom field values as they travel nested in a record's POST/PUT ([C]: `custom_fields:
 * [{custom_field_name, value}]`, the value a string that "cannot be null or empty" and fits the
 * definition's type, the name defined for that record's module). Shared by customers and products,
 * which differ only in the module the names are looked up in.
 */
import type { FieldError } from './errors.js';
import type { CustomFieldModule, IpaasCustomFieldJson } from './types.js';

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const GUID_RE = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;

/** A definition of the record's module by name (any letter case), or undefined. */
export type DefinitionLookup = (name: string) => IpaasCustomFieldJson | undefined;

/** A value that passed: its name in the definition's own spelling. */
export interface CustomFieldValueWrite {
  custom_field_name: string;
  value: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return d <= days;
}

/** Returns null when `value` conforms to the definition's type, else the reason. */
export function checkCustomFieldValue(def: IpaasCustomFieldJson, value: string): string | null {
  const q = `Custom field '${def.name}' value '${value}'`;
  switch (def.data_type) {
    case 'bool':
      return value === 'true' || value === 'false' ? null : `${q} is not a valid bool; expected 'true' or 'false'.`;
    case 'number':
      return NUMBER_RE.test(value) && Number.isFinite(Number(value)) ? null : `${q} is not a valid number.`;
    case 'date': {
      const m = DATE_RE.exec(value);
      return m && validDate(Number(m[1]), Number(m[2]), Number(m[3]))
        ? null
        : `${q} is not a valid date; expected YYYY-MM-DD.`;
    }
    case 'datetime': {
      const m = DATETIME_RE.exec(value);
      const ok =
        m !== null &&
        validDate(Number(m[1]), Number(m[2]), Number(m[3])) &&
        Number(m[4]) < 24 &&
        Number(m[5]) < 60 &&
        (m[6] === undefined || Number(m[6]) < 60);
      return ok ? null : `${q} is not a valid ISO-8601 datetime.`;
    }
    case 'guid':
      return GUID_RE.test(value) ? null : `${q} is not a valid GUID.`;
    case 'enum': {
      const allowed = def.enum_values;
      if (!allowed || allowed.length === 0) return null;
      return allowed.includes(value) ? null : `${q} is not one of the allowed values: ${allowed.join(', ')}.`;
    }
    default:
      return null; // string, encrypted, password: any non-empty string
  }
}

/**
 * Checks a record write's `custom_fields` against the definitions of `module`; pushes every problem
 * to `errors` (a name the module does not define is named in the message) and returns the values that
 * passed, or undefined when `raw` is not an array.
 */
export function validateCustomFieldValues(
  raw: unknown, lookup: DefinitionLookup, module: CustomFieldModule, errors: FieldError[],
): CustomFieldValueWrite[] | undefined {
  if (!Array.isArray(raw)) {
    errors.push({ field: 'custom_fields', message: 'custom_fields must be an array of {custom_field_name, value}.' });
    return undefined;
  }
  const out: { custom_field_name: string; value: string }[] = [];
  raw.forEach((entry: unknown, i) => {
    const at = `custom_fields[${i}]`;
    if (!isRecord(entry)) {
      errors.push({ field: at, message: `${at} must be an object with custom_field_name and value.` });
      return;
    }
    const name = entry['custom_field_name'];
    if (typeof name !== 'string' || name.trim() === '') {
      errors.push({ field: `${at}.custom_field_name`, message: `${at}.custom_field_name is required.` });
      return;
    }
    const def = lookup(name);
    if (!def) {
      errors.push({
        field: `${at}.custom_field_name`,
        message: `Custom field '${name}' is not defined for module ${module}.`,
      });
      return;
    }
    const value = entry['value'];
    if (value === null || value === undefined || value === '') {
      errors.push({ field: `${at}.value`, message: `Custom field '${def.name}' value cannot be null or empty.` });
      return;
    }
    if (typeof value !== 'string') {
      errors.push({ field: `${at}.value`, message: `Custom field '${def.name}' value must be a string.` });
      return;
    }
    const problem = checkCustomFieldValue(def, value);
    if (problem) {
      errors.push({ field: `${at}.value`, message: problem });
      return;
    }
    out.push({ custom_field_name: def.name, value });
  });
  return out;
}

