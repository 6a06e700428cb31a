/**
 * Validation of customer writes (POST/PUT bodies and humanUpdate patches); custom field values
 * are checked by custom-field-values.ts. Throws IpaasHttpError(400) listing every problem.
 */
import { validateCustomFieldValues, type CustomFieldValueWrite, type DefinitionLookup } from './custom-field-values.js';
import { IpaasHttpError, validationError, type FieldError } from './errors.js';
import type { IpaasAddressWrite } from './types.js';

export { checkCustomFieldValue, type DefinitionLookup } from './custom-field-values.js';

export const NAME_MAX = 50;
export const CUSTOMER_NUMBER_MAX = 20;
const CUSTOMER_NUMBER_RE = /^[A-Za-z0-9-]+$/;
const EMAIL_RE = /^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
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
  custom_fields?: CustomFieldValueWrite[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
    const cf = validateCustomFieldValues(body['custom_fields'], lookup, 'Customer', errors);
    if (cf) patch.custom_fields = cf;
  }

  if (errors.length > 0) throw validationError(errors);
  return patch;
}
