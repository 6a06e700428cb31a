import { createHash } from 'node:crypto';
import type { RecordFilter } from '../../ipaas/ipaas-client.js';
import type { EntityName } from '../../ipaas/entities.js';
import type { BulkMode } from '../../store/ports.js';

/** What selects the customers of a bulk run; equal parameters resume the same run. */
export interface BulkParams {
  mode: BulkMode;
  since?: string | undefined;
  filter?: RecordFilter | undefined;
  /** A formula every customer must satisfy (evaluated here, on any field). */
  where?: string | undefined;
  /** Re-send customers whose mapped inputs did not change since their last sync. */
  force?: boolean | undefined;
  /** Direct calls at OpenAI's flex tier (Batch prices, slower answers). */
  tier?: 'flex' | undefined;
  /** The data model to backfill (absent: customer). */
  entity?: EntityName | undefined;
}

export function paramsKey(p: BulkParams): string {
  const canonical = JSON.stringify({ mode: p.mode, since: p.since ?? null, filter: p.filter ?? {}, where: p.where ?? null, force: !!p.force, ...(p.tier ? { tier: p.tier } : {}), ...(p.entity && p.entity !== 'customer' ? { entity: p.entity } : {}) });
  return `bulk-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

/** The fields iPaaS.com's list filter takes, per data model (query names). */
const FILTERABLE: Record<EntityName, readonly string[]> = {
  customer: ['CustomerNumber', 'EmailAddress', 'FirstName', 'LastName', 'Company'],
  product: ['Sku', 'Name'],
};

/** `--filter Field=value` (repeatable) into iPaaS.com's equals filter of the data model. */
export function parseFilters(list: string[], entity: EntityName = 'customer'): RecordFilter {
  const allowed = FILTERABLE[entity];
  const out: RecordFilter = {};
  for (const item of list) {
    const i = item.indexOf('=');
    const field = item.slice(0, i).trim();
    if (i < 1 || !(allowed as readonly string[]).includes(field)) {
      throw new Error(`--filter "${item}": use Field=value with Field one of ${allowed.join(', ')}; for other fields use --where with a formula.`);
    }
    out[field] = item.slice(i + 1);
  }
  return out;
}
