import { createHash } from 'node:crypto';
import type { Customer } from '../ipaas/customer-model.js';
import type { FieldWrite } from '../mapping/map-to.js';
import type { MappedRequest } from '../mapping/map-from.js';

/**
 * What a sync's result depends on: the mapped FROM data and the PromptText.
 * Equal fingerprints mean an OpenAI call would get the same question again.
 */
export function inputFingerprint(mapped: MappedRequest, model: string): string {
  return createHash('sha256').update(JSON.stringify([model, mapped.promptText, mapped.data])).digest('base64url');
}

/** The customer as it stands once our writes are applied (for the fingerprint after a write-back). */
export function applyWrites(customer: Customer, writes: Array<Pick<FieldWrite, 'target' | 'value'>>): Customer {
  const next: Customer = { ...customer, customFields: { ...customer.customFields } };
  for (const w of writes) {
    if (w.value === null) continue;
    if (w.target.kind === 'standard') next.comment = w.value;
    else {
      const existing = Object.keys(next.customFields).find((k) => k.toLowerCase() === (w.target as { name: string }).name.toLowerCase());
      next.customFields[existing ?? w.target.name] = w.value;
    }
  }
  return next;
}
