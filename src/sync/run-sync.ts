import type { TriggerEvent } from '../config/schema.js';
import { ConnectorError } from '../shared/errors.js';
import { markFailed, newAttempt, saveAttempt } from './attempt.js';
import { refText, type CustomerRef } from './load-customer.js';
import { prepareMappings } from './prepare-mappings.js';
import { syncCustomer, type SyncDeps, type SyncResult } from './sync-customer.js';

export interface RunSummary {
  synced: number;
  failed: number;
  skipped: number;
  createdCustomFields: string[];
  results: SyncResult[];
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RunOptions {
  trigger: string;
  event?: TriggerEvent;
  concurrency?: number;
  onResult?: (r: SyncResult, done: number, total: number) => void;
}

/** Removes duplicates while keeping the order the person gave. */
export function uniqueRefs(refs: CustomerRef[]): CustomerRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = refText(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * A manual sync, as on iPaaS.com's Manual Sync page: up to 3,000 customers,
 * each ending synced, skipped or failed (with its reason) in the sync log.
 */
export async function runSync(deps: SyncDeps, refs: CustomerRef[], options: RunOptions): Promise<RunSummary> {
  const list = uniqueRefs(refs);
  const max = deps.config.sync.maxIdsPerRun;
  if (list.length === 0) throw new ConnectorError('INVALID_INPUT', 'No customers to sync.', { fix: 'Name at least one CustomerNumber (or --id).' });
  if (list.length > max) {
    throw new ConnectorError('INVALID_INPUT', `${list.length} customers were given; a manual sync takes at most ${max}.`, {
      fix: `Split the list into runs of ${max} or fewer (iPaaS.com's Manual Sync has the same limit).`,
    });
  }
  const summary: RunSummary = { synced: 0, failed: 0, skipped: 0, createdCustomFields: [], results: [], inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };

  let prepared;
  try {
    prepared = await prepareMappings(deps.config, deps.ipaas, options.event ? { trigger: options.event } : {});
  } catch (err) {
    // Nothing was sent: record the reason against every requested customer so each one is visibly failed and retryable.
    for (const ref of list) {
      const a = newAttempt(ref, options.trigger, deps.now().toISOString());
      markFailed(deps, a, err);
      const attempt = saveAttempt(deps, a, performance.now());
      summary.failed++;
      summary.results.push({ attempt });
      options.onResult?.({ attempt }, summary.results.length, list.length);
    }
    return summary;
  }
  if ('disabled' in prepared) {
    throw new ConnectorError('CONFIG_INVALID', `Nothing synced: ${prepared.disabled}`, { fix: 'Set status: Enabled on the mapping collection (and list the trigger event) to sync.' });
  }
  summary.createdCustomFields = prepared.created;

  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const ref = list[next++]!;
      const r = await syncCustomer(deps, prepared.plan, ref, options.trigger);
      summary[r.attempt.outcome]++;
      summary.inputTokens += r.attempt.inputTokens;
      summary.cachedTokens += r.attempt.cachedTokens;
      summary.outputTokens += r.attempt.outputTokens;
      summary.costUsd += r.attempt.costUsd ?? 0;
      summary.results.push(r);
      options.onResult?.(r, summary.results.length, list.length);
    }
  };
  const n = Math.min(options.concurrency ?? deps.config.sync.concurrency, list.length);
  await Promise.all(Array.from({ length: n }, worker));
  return summary;
}
