import type { IpaasRecord, RecordPatch } from '../ipaas/entities.js';
import type { FieldWrite } from '../mapping/map-to.js';

export interface WrittenField {
  field: string;
  before: string | null;
  after: string | null;
  skipped?: string;
}

/** What iPaaS.com holds now in the field a write targets (a writable standard field, or a custom field). */
export function currentValue(record: IpaasRecord, w: Pick<FieldWrite, 'target'>): string | null {
  if (w.target.kind === 'standard') {
    const v = record.fields[w.target.field];
    return v === null || v === undefined ? null : String(v);
  }
  const wanted = w.target.name.toLowerCase();
  const hit = Object.entries(record.customFields).find(([k]) => k.toLowerCase() === wanted);
  return hit ? hit[1] : null;
}

/** Turns the TO mapping's writes into one iPaaS.com PUT body, with before -> after for the log. */
export function buildPatch(record: IpaasRecord, writes: FieldWrite[]): { patch: RecordPatch; fields: WrittenField[] } {
  const patch: RecordPatch = {};
  const fields: WrittenField[] = [];
  for (const w of writes) {
    const before = currentValue(record, w);
    if (w.value === null) {
      fields.push({ field: w.destination, before, after: before, skipped: w.skippedReason ?? 'no value' });
      continue;
    }
    if (w.target.kind === 'standard') patch[w.target.apiField] = w.value;
    else (patch.custom_fields ??= []).push({ custom_field_name: w.target.name, value: w.value });
    fields.push({ field: w.destination, before, after: w.value });
  }
  return { patch, fields };
}
