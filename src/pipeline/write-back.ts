import type { Customer, CustomerPatch } from '../ipaas/customer-model.js';
import type { FieldWrite } from '../mapping/map-to.js';

export interface WrittenField {
  field: string;
  before: string | null;
  after: string | null;
  skipped?: string;
}

function currentValue(customer: Customer, w: FieldWrite): string | null {
  if (w.target.kind === 'standard') return customer.comment;
  const wanted = w.target.name.toLowerCase();
  const hit = Object.entries(customer.customFields).find(([k]) => k.toLowerCase() === wanted);
  return hit ? hit[1] : null;
}

/** Turns the TO mapping's writes into one iPaaS.com PUT body, with before -> after for the log. */
export function buildPatch(customer: Customer, writes: FieldWrite[]): { patch: CustomerPatch; fields: WrittenField[] } {
  const patch: CustomerPatch = {};
  const fields: WrittenField[] = [];
  for (const w of writes) {
    const before = currentValue(customer, w);
    if (w.value === null) {
      fields.push({ field: w.destination, before, after: before, skipped: w.skippedReason ?? 'no value' });
      continue;
    }
    if (w.target.kind === 'standard') patch.comment = w.value;
    else (patch.custom_fields ??= []).push({ custom_field_name: w.target.name, value: w.value });
    fields.push({ field: w.destination, before, after: w.value });
  }
  return { patch, fields };
}
