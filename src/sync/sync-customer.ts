import type { Customer } from '../ipaas/customer-model.js';
import type { MappingPlan } from '../mapping/mapping-plan.js';
import type { StoredAttempt } from '../store/sync-store.js';
import { markFailed, newAttempt, saveAttempt } from './attempt.js';
import { runCallPhase } from './call-phase.js';
import type { CustomerRef } from './load-customer.js';
import type { SyncDeps } from './sync-deps.js';
import { runWritePhase } from './write-phase.js';

export type { SyncDeps } from './sync-deps.js';

export interface SyncResult {
  attempt: StoredAttempt;
  /** The customer as iPaaS.com returned it after the write-back. */
  customer?: Customer;
}

/**
 * One record through the whole flow, directly (the CLI's manual sync): load ->
 * map FROM -> OpenAI -> parse -> map TO -> write back -> log. Never throws:
 * every outcome is logged. The service runs the same phases through its queue.
 */
export async function syncCustomer(deps: SyncDeps, plan: MappingPlan, ref: CustomerRef, trigger: string): Promise<SyncResult> {
  const started = performance.now();
  const a = newAttempt(ref, trigger, deps.now().toISOString());
  a.collection = plan.collections.from.name;
  let after: Customer | undefined;
  try {
    const call = await runCallPhase(deps, plan, ref, a);
    if (call.kind === 'skipped') {
      a.outcome = 'skipped';
      a.errorMessage = call.reason;
    } else {
      const jobs = deps.store.jobs;
      const prior = jobs.customerState(call.customer.id);
      const t = performance.now();
      const w = await runWritePhase(deps, plan, call.pkg, call.customer, prior, deps.config.sync.humanEdits);
      a.writeMs = Math.round((performance.now() - t) * 100) / 100;
      a.writes = w.fields;
      a.flags = w.flags.length ? w.flags : null;
      a.outcome = 'synced';
      after = w.after;
      jobs.putCustomerState(w.state);
    }
  } catch (err) {
    markFailed(deps, a, err);
  }
  const attempt = saveAttempt(deps, a, started);
  return after ? { attempt, customer: after } : { attempt };
}
