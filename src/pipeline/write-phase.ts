import { entityModel, type IpaasRecord } from '../ipaas/entities.js';
import { mapFrom } from '../mapping/map-from.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import type { FieldWrite } from '../mapping/map-to.js';
import type { CustomerSyncState } from '../store/ports.js';
import type { AnswerPackage } from './prepare-and-call.js';
import { applyWrites, inputFingerprint } from './fingerprint.js';
import type { SyncDeps } from '../app/sync-deps.js';
import { buildPatch, currentValue, type WrittenField } from './write-back.js';

export type HumanEditPolicy = 'flag' | 'keep' | 'overwrite';

export interface WriteResult {
  after: IpaasRecord | undefined;
  fields: WrittenField[];
  flags: string[];
  /** The customer's sync state to store with the job's end. */
  state: CustomerSyncState;
  /** True when iPaaS.com already held every value (a write that landed before a crash). */
  alreadyWritten: boolean;
}

/**
 * map TO -> write back. A field a person edited since our last write is not
 * silently overwritten: per policy it is kept, flagged (kept, and the record
 * marked for a person), or overwritten.
 */
export async function runWritePhase(
  deps: SyncDeps,
  plan: MappingPlan,
  pkg: AnswerPackage,
  customer: IpaasRecord,
  prior: CustomerSyncState | undefined,
  policy: HumanEditPolicy,
  /** What the reviewer saw as the field's value when approving: a value changed since is a person's edit, kept. */
  reviewed?: WrittenField[] | undefined,
): Promise<WriteResult> {
  const flags: string[] = [];
  const writes: FieldWrite[] = [];
  for (const w of pkg.writes) {
    const seen = reviewed?.find((f) => f.field === w.destination);
    if (seen && w.value !== null && currentValue(customer, w) !== seen.before) {
      flags.push(`human-edit: ${w.destination} was changed in iPaaS.com while the answer awaited review; kept`);
      writes.push({ ...w, value: null, skippedReason: 'edited by a person while the answer awaited review' });
      continue;
    }
    const last = prior?.written[w.destination];
    const now = currentValue(customer, w);
    const editedByPerson = w.value !== null && last !== undefined && now !== last && now !== w.value;
    if (editedByPerson && policy !== 'overwrite') {
      flags.push(`human-edit: ${w.destination} was changed in iPaaS.com since the connector's last write; ${policy === 'flag' ? 'kept and flagged for review' : 'kept'}`);
      writes.push({ ...w, value: null, skippedReason: `edited by a person since the last sync (policy ${policy})` });
      continue;
    }
    if (editedByPerson) flags.push(`human-edit: ${w.destination} overwritten (policy overwrite)`);
    writes.push(w);
  }
  const { patch, fields } = buildPatch(customer, writes);
  const alreadyWritten = fields.every((f) => f.skipped || f.before === f.after);
  let after: IpaasRecord | undefined;
  if (!alreadyWritten) after = await deps.ipaas.updateRecord(entityModel(customer.entity), customer.id, patch);

  // The fingerprint of what iPaaS.com holds after this write (kept human edits included),
  // so the Update webhook our own write causes is recognised as an echo.
  const applied = applyWrites(customer, writes);
  const fingerprint = inputFingerprint(mapFrom(plan, applied, deps.now), deps.config.openai.model);
  const written: Record<string, string> = { ...(prior?.written ?? {}) };
  for (const f of fields) if (!f.skipped && f.after !== null) written[f.field] = f.after;
  return {
    after,
    fields,
    flags,
    alreadyWritten,
    state: {
      customerId: customer.key,
      customerNumber: customer.number,
      inputFingerprint: fingerprint,
      written,
      lastResponseId: pkg.responseId,
      lastWrittenAt: deps.now().getTime(),
    },
  };
}
