/**
 * Validation of product writes (POST/PUT bodies and humanUpdateProduct patches), in the customers'
 * style: every problem listed, the first one the message, unknown and read-only keys ignored.
 * [C] the OpenAI product articles need Name, Description, DefaultPrice and identify a product by SKU;
 * [D] the limits (SKU 50, name 255 characters), name required on create, description and SKU
 * optional (a product may lack one: the connector refuses it, the API does not), and a price that is a
 * JSON number >= 0 or null.
 */
import { validateCustomFieldValues, type CustomFieldValueWrite, type DefinitionLookup } from './custom-field-values.js';
import { IpaasHttpError, validationError, type FieldError } from './errors.js';

export const SKU_MAX = 50;
export const PRODUCT_NAME_MAX = 255;

/** A validated, normalized product write: only the keys the caller supplied. */
export interface ProductPatch {
  sku?: string | null;
  name?: string;
  description?: string | null;
  default_price?: number | null;
  /** Names already resolved to the definition's spelling. */
  custom_fields?: CustomFieldValueWrite[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateSku(v: unknown, errors: FieldError[]): string | null | undefined {
  if (v === null || v === '') return null;
  if (typeof v !== 'string') {
    errors.push({ field: 'sku', message: 'SKU must be a string or null.' });
    return undefined;
  }
  if (v.trim() === '') {
    errors.push({ field: 'sku', message: 'SKU must not be blank; send null for a product without one.' });
    return undefined;
  }
  if (v.length > SKU_MAX) {
    errors.push({ field: 'sku', message: `SKU '${v}' must be ${SKU_MAX} characters or fewer.` });
    return undefined;
  }
  return v;
}

function validatePrice(v: unknown, errors: FieldError[]): number | null | undefined {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    errors.push({ field: 'default_price', message: 'Default price must be a number or null.' });
    return undefined;
  }
  if (v < 0) {
    errors.push({ field: 'default_price', message: `Default price ${v} must not be negative.` });
    return undefined;
  }
  return v;
}

/** mode 'create': name required; mode 'update': only the supplied keys are checked. */
export function validateProductWrite(body: unknown, mode: 'create' | 'update', lookup: DefinitionLookup): ProductPatch {
  if (!isRecord(body)) throw new IpaasHttpError(400, 'The request body must be a JSON object.');
  const errors: FieldError[] = [];
  const patch: ProductPatch = {};

  if ('name' in body || mode === 'create') {
    const name = body['name'];
    if (typeof name !== 'string' || name.trim() === '') errors.push({ field: 'name', message: 'Name is required.' });
    else if (name.length > PRODUCT_NAME_MAX) {
      errors.push({ field: 'name', message: `Name must be ${PRODUCT_NAME_MAX} characters or fewer.` });
    } else patch.name = name;
  }
  if ('sku' in body) {
    const sku = validateSku(body['sku'], errors);
    if (sku !== undefined) patch.sku = sku;
  }
  if ('description' in body) {
    const d = body['description'];
    if (d !== null && typeof d !== 'string') errors.push({ field: 'description', message: 'Description must be a string or null.' });
    else patch.description = d === '' ? null : d;
  }
  if ('default_price' in body) {
    const price = validatePrice(body['default_price'], errors);
    if (price !== undefined) patch.default_price = price;
  }
  if ('custom_fields' in body && body['custom_fields'] !== null) {
    const cf = validateCustomFieldValues(body['custom_fields'], lookup, 'Product', errors);
    if (cf) patch.custom_fields = cf;
  }

  if (errors.length > 0) throw validationError(errors);
  return patch;
}
