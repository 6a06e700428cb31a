/**
 * Validation of customer writes (POST/PUT bodies and humanUpdate patches) and of custom
 * field values against their definitions. Throws IpaasHttpError(400) listing every problem.
 */
import { IpaasHttpError, validationError, type FieldError } from './errors.js';
import type { IpaasAddressWrite, IpaasCustomFieldJson } from './types.js';

export const NAME_MAX = 50;
export const CUSTOMER_NUMBER_MAX = 20;
const CUSTOMER_NUMBER_RE = /^[A-Za-z0-9-]+$/;
const EMAIL_RE = /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?$/;
const GUID_RE = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;
const ADDRESS_KEYS = ['address1', 'address2', 'city', 'region', 'postal_code', 'country'] as const;

/** A validated, normalized customer write: only the keys the caller supplied. */
export interface CustomerPatch {
  customer_number?: string | null;
  first_name?: string;
  last_name?: string;
  email_address?: string | null;
  company?: string | null;
  comment?: string | null;
  categories?: string[];
  addresses?: Required<IpaasAddressWrite>[];
  external_ids?: Record<string, unknown>[];
  /** Names already resolved to the definition's spelling. */
  custom_fields?: { custom_field_name: string; value: string }[];
}

export type DefinitionLookup = (name: string) => IpaasCustomFieldJson | undefined;

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

function optionalString(
  body: Record<string, unknown>, key: string, label: string, errors: FieldError[], max?: number,
): string | null | undefined {
  if (!(key in body)) return undefined;
  const v = body[key];
  if (v === null) return null;
  if (typeof v !== 'string') {
    errors.push({ field: key, message: `${label} must be a string or null.` });
    return undefined;
  }
  if (max !== undefined && v.length > max) {
    errors.push({ field: key, message: `${label} must be ${max} characters or fewer.` });
  }
  return v;
}

function requiredName(
  body: Record<string, unknown>, key: 'first_name' | 'last_name', label: string, mode: 'create' | 'update',
  errors: FieldError[],
): string | undefined {
  if (!(key in body)) {
    if (mode === 'create') errors.push({ field: key, message: `${label} is required.` });
    return undefined;
  }
  const v = body[key];
  if (typeof v !== 'string' || v.trim() === '') {
    errors.push({ field: key, message: `${label} is required.` });
    return undefined;
  }
  if (v.length > NAME_MAX) {
    errors.push({ field: key, message: `${label} must be ${NAME_MAX} characters or fewer.` });
  }
  return v;
}

function validateCustomFields(raw: unknown, lookup: DefinitionLookup, errors: FieldError[]): CustomerPatch['custom_fields'] {
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
        message: `Custom field '${name}' is not defined for module Customer.`,
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

function validateAddresses(raw: unknown, errors: FieldError[]): CustomerPatch['addresses'] {
  if (!Array.isArray(raw)) {
    errors.push({ field: 'addresses', message: 'addresses must be an array.' });
    return undefined;
  }
  const out: Required<IpaasAddressWrite>[] = [];
  raw.forEach((a: unknown, i) => {
    if (!isRecord(a)) {
      errors.push({ field: `addresses[${i}]`, message: `addresses[${i}] must be an object.` });
      return;
    }
    const addr: Required<IpaasAddressWrite> = {
      address1: null, address2: null, city: null, region: null, postal_code: null, country: null,
    };
    for (const k of ADDRESS_KEYS) {
      const v = a[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') {
        errors.push({ field: `addresses[${i}].${k}`, message: `addresses[${i}].${k} must be a string or null.` });
        continue;
      }
      addr[k] = v;
    }
    out.push(addr);
  });
  return out;
}

/**
 * Validates a create body (mode 'create': first/last name required) or an update body
 * (mode 'update': only supplied keys are checked). Unknown and read-only keys are ignored,
 * like ASP.NET model binding does.
 */
export function validateCustomerWrite(body: unknown, mode: 'create' | 'update', lookup: DefinitionLookup): CustomerPatch {
  if (!isRecord(body)) {
    throw new IpaasHttpError(400, 'The request body must be a JSON object.');
  }
  const errors: FieldError[] = [];
  const patch: CustomerPatch = {};

  const first = requiredName(body, 'first_name', 'First name', mode, errors);
  if (first !== undefined) patch.first_name = first;
  const last = requiredName(body, 'last_name', 'Last name', mode, errors);
  if (last !== undefined) patch.last_name = last;

  const num = optionalString(body, 'customer_number', 'Customer number', errors);
  if (num !== undefined) {
    if (num === null || num === '') patch.customer_number = null;
    else if (num.length > CUSTOMER_NUMBER_MAX) {
      errors.push({
        field: 'customer_number',
        message: `Customer number '${num}' must be ${CUSTOMER_NUMBER_MAX} characters or fewer.`,
      });
    } else if (!CUSTOMER_NUMBER_RE.test(num)) {
      errors.push({
        field: 'customer_number',
        message: `Customer number '${num}' may contain only letters, digits and dashes.`,
      });
    } else patch.customer_number = num;
  }

  const email = optionalString(body, 'email_address', 'Email address', errors, 254);
  if (email !== undefined) {
    if (email === null || email === '') patch.email_address = null;
    else if (!EMAIL_RE.test(email)) {
      errors.push({ field: 'email_address', message: `Email address '${email}' is not a valid email address.` });
    } else patch.email_address = email;
  }

  const company = optionalString(body, 'company', 'Company', errors, 100);
  if (company !== undefined) patch.company = company;
  const comment = optionalString(body, 'comment', 'Comment', errors);
  if (comment !== undefined) patch.comment = comment;

  if ('categories' in body) {
    const c = body['categories'];
    if (c === null) patch.categories = [];
    else if (!Array.isArray(c) || !c.every((x) => typeof x === 'string' && x.trim() !== '')) {
      errors.push({ field: 'categories', message: 'categories must be an array of non-empty category names.' });
    } else patch.categories = [...(c as string[])];
  }
  if ('addresses' in body) {
    const a = body['addresses'] === null ? [] : validateAddresses(body['addresses'], errors);
    if (a) patch.addresses = a;
  }
  if ('external_ids' in body) {
    const x = body['external_ids'];
    if (x === null) patch.external_ids = [];
    else if (!Array.isArray(x) || !x.every(isRecord)) {
      errors.push({ field: 'external_ids', message: 'external_ids must be an array of objects.' });
    } else patch.external_ids = structuredClone(x as Record<string, unknown>[]);
  }
  if ('custom_fields' in body && body['custom_fields'] !== null) {
    const cf = validateCustomFields(body['custom_fields'], lookup, errors);
    if (cf) patch.custom_fields = cf;
  }

  if (errors.length > 0) throw validationError(errors);
  return patch;
}
