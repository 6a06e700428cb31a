import { createHash } from 'node:crypto';
import type { IpaasRecord } from '../ipaas/entities.js';
import type { FieldWrite } from '../mapping/map-to.js';
import type { MappedRequest } from '../mapping/map-from.js';

/**
 * What a sync's result depends on: the mapped FROM data and the PromptText.
 * Equal fingerprints mean an OpenAI call would get the same question again.
 */
export function inputFingerprint(mapped: MappedRequest, model: string): string {
  return createHash('sha256').update(JSON.stringify([model, mapped.promptText, mapped.data])).digest('base64url');
}

/** The record as it stands once our writes are applied (for the fingerprint after a write-back). */
export function applyWrites(record: IpaasRecord, writes: Array<Pick<FieldWrite, 'target' | 'value'>>): IpaasRecord {
  const next: IpaasRecord = { ...record, fields: { ...record.fields }, customFields: { ...record.customFields } };
  for (const w of writes) {
    if (w.value === null) continue;
    if (w.target.kind === 'standard') next.fields[w.target.field] = w.value;
    else {
      const existing = Object.keys(next.customFields).find((k) => k.toLowerCase() === (w.target as { name: string }).name.toLowerCase());
      next.customFields[existing ?? w.target.name] = w.value;
    }
  }
  return next;
}
