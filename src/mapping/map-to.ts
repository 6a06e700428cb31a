import { ConnectorError } from '../shared/errors.js';
import { evaluateFormula } from './formula.js';
import type { MappingPlan, ToTarget, WriteTarget } from './mapping-plan.js';

/** What the TO flow sees: the model's answer plus response metadata. */
export interface ResponseRecord {
  Id: string;
  ResponseId: string;
  ResponseDate: Date;
  PromptText: string;
  Model: string;
  answer: Record<string, unknown>;
}

export interface FieldWrite {
  destination: string;
  target: WriteTarget;
  dataType: string;
  /** The value as iPaaS.com takes it (bool "true"/"false", ISO dates), or null when there is nothing to write. */
  value: string | null;
  skippedReason?: string;
}

function invalid(customerNumber: string, field: string, why: string): never {
  throw new ConnectorError('INVALID_ANSWER', `Customer ${customerNumber}: the answer for "${field}" ${why}`, {
    fix: 'Tighten the PromptText or the field description so the model returns the expected type; the record can be retried.',
    retryable: false,
    details: { customerNumber, field },
  });
}

/** Formats one value for an iPaaS.com field of the given data type. */
export function formatForIpaas(value: unknown, dataType: string, customerNumber: string, field: string): string | null {
  if (value == null) return null;
  if (Array.isArray(value)) value = value.join(', ');
  switch (dataType) {
    case 'bool': {
      const s = String(value).trim().toUpperCase();
      if (s === 'TRUE') return 'true';
      if (s === 'FALSE') return 'false';
      return invalid(customerNumber, field, `must be TRUE or FALSE, got ${JSON.stringify(value)}.`);
    }
    case 'number': {
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      if (!Number.isFinite(n)) return invalid(customerNumber, field, `must be a number, got ${JSON.stringify(value)}.`);
      return String(n);
    }
    case 'datetime':
    case 'date': {
      const d = value instanceof Date ? value : new Date(String(value));
      if (Number.isNaN(d.getTime())) return invalid(customerNumber, field, `must be a ${dataType}, got ${JSON.stringify(value)}.`);
      return dataType === 'date' ? d.toISOString().slice(0, 10) : d.toISOString();
    }
    default: {
      const s = value instanceof Date ? value.toISOString() : String(value);
      return s;
    }
  }
}

function sourceValue(t: ToTarget, rec: ResponseRecord): unknown {
  const field = (name: string): unknown => {
    switch (name) {
      case 'Id': return rec.Id;
      case 'ResponseId': return rec.ResponseId;
      case 'ResponseDate': return rec.ResponseDate;
      case 'PromptText': return rec.PromptText;
      case 'Model': return rec.Model;
      default: return rec.answer[name];
    }
  };
  switch (t.mapping.type) {
    case 'Field': return field(t.mapping.source);
    case 'Static': return t.mapping.source;
    case 'Formula': return evaluateFormula(t.formula!, { field, customFields: {}, now: () => rec.ResponseDate });
  }
}

/**
 * Maps the response TO iPaaS.com fields. Only the declared targets can be
 * written: whatever else the answer holds is ignored by construction.
 */
export function mapTo(plan: MappingPlan, rec: ResponseRecord): FieldWrite[] {
  return plan.targets.map((t) => {
    const value = formatForIpaas(sourceValue(t, rec), t.dataType, rec.Id, t.destination);
    const empty = value == null || (t.target.kind === 'custom' && value.trim() === '');
    return {
      destination: t.destination,
      target: t.target,
      dataType: t.dataType,
      value: empty ? null : value,
      // iPaaS.com refuses null or empty custom field values: leave the field as it is.
      ...(empty ? { skippedReason: 'the answer left it empty' } : {}),
    };
  });
}
