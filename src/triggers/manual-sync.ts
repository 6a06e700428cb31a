import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TriggerEvent } from '../config/schema.js';
import { PlanCache } from '../queue/plan-cache.js';
import { triggerLabel, type JobTrigger } from '../queue/trigger.js';
import { WorkerPool } from '../queue/worker-pool.js';
import { ConnectorError } from '../shared/errors.js';
import type { RefKind } from '../store/ports.js';
import { recordKeyOf, type EntityName } from '../ipaas/entities.js';
import { announceAttempt, markFailed, newAttempt, stampAttempt } from '../queue/attempt.js';
import { refText, type RecordRef } from '../pipeline/load-record.js';
import { prepareMappings } from '../pipeline/prepare-mappings.js';
import type { StoredAttempt } from '../store/ports.js';
import type { SyncDeps } from '../app/sync-deps.js';
import type { StoredAnswer } from '../queue/run-job.js';

/** One record's outcome in a run: its last attempt, as the sync log holds it. */
export interface SyncResult {
  attempt: StoredAttempt;
}

export interface RunSummary {
  runId: string | null;
  /** True when this run continued one that was interrupted (same customers): what was written is not sent again. */
  resumed: boolean;
  synced: number;
  failed: number;
  skipped: number;
  /** Records still waiting for a later retry (or held by a spend cap) when the run returned. */
  waiting: number;
  /** Answers waiting for a person (review required): nothing written yet. */
  awaitingReview: number;
  createdCustomFields: string[];
  results: SyncResult[];
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RunOptions {
  trigger: JobTrigger;
  /** The data model of the records (default: customer; or the refs' own). */
  entity?: EntityName | undefined;
  event?: TriggerEvent;
  concurrency?: number;
  onResult?: (r: SyncResult, done: number, total: number) => void;
  /** A record whose answer now waits for a person (review required). */
  onReview?: (jobId: number, done: number, total: number) => void;
  /** Stop waiting for records whose next retry is further away than this (they stay queued). Default 60 s. */
  maxRetryWaitMs?: number;
}

/** Removes duplicates while keeping the order the person gave. */
export function uniqueRefs(refs: RecordRef[]): RecordRef[] {
  const seen = new Set<string>();
  return refs.filter((r) => {
    const k = refText(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The same customers asked for again continue the same run while it is unfinished. */
function runKey(trigger: JobTrigger, refs: RecordRef[]): string {
  const canonical = JSON.stringify({ trigger: triggerLabel(trigger), refs: refs.map(refText).sort() });
  return `manual-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

const jobOf = (ref: RecordRef): { ref: string; refKind: RefKind; customerId: string | null } =>
  'id' in ref ? { ref: ref.id, refKind: 'id', customerId: recordKeyOf(ref.entity ?? 'customer', ref.id) } : { ref: ref.customerNumber, refKind: 'number', customerId: null };

/**
 * A manual sync, as on iPaaS.com's Manual Sync page: up to 3,000 customers, each ending synced,
 * skipped or failed (with its reason) in the sync log. The customers are queued as one run and the
 * queue's runner does the work in this process, exactly as `serve` would: paced by the rate limiter,
 * one OpenAI call per customer, the answer stored before the write-back. Killed and run again with
 * the same customers, it resumes: written records are not sent again, stored answers are only written.
 */
export async function runSync(deps: SyncDeps, refs: RecordRef[], given: RunOptions): Promise<RunSummary> {
  const entity = given.entity ?? refs[0]?.entity ?? 'customer';
  const options: RunOptions = { ...given, trigger: { ...given.trigger, ...(entity !== 'customer' ? { entity } : {}) } };
  const list = uniqueRefs(refs.map((r) => ({ ...r, entity })));
  const max = deps.config.sync.maxIdsPerRun;
  if (list.length === 0) throw new ConnectorError('INVALID_INPUT', 'No customers to sync.', { fix: 'Name at least one CustomerNumber (or --id).' });
  if (list.length > max) {
    throw new ConnectorError('INVALID_INPUT', `${list.length} customers were given; a manual sync takes at most ${max}.`, {
      fix: `Split the list into runs of ${max} or fewer (iPaaS.com's Manual Sync has the same limit).`,
    });
  }
  const summary: RunSummary = { runId: null, resumed: false, synced: 0, failed: 0, skipped: 0, waiting: 0, awaitingReview: 0, createdCustomFields: [], results: [], inputTokens: 0, cachedTokens: 0, outputTokens: 0, costUsd: 0 };
  const report = (r: SyncResult) => {
    summary[r.attempt.outcome]++;
    summary.inputTokens += r.attempt.inputTokens;
    summary.cachedTokens += r.attempt.cachedTokens;
    summary.outputTokens += r.attempt.outputTokens;
    summary.costUsd += r.attempt.costUsd ?? 0;
    summary.results.push(r);
    options.onResult?.(r, summary.results.length, list.length);
  };

  // The check step: "Request field not found." (and any custom field to create) before anything is queued or sent.
  let prepared;
  try {
    // A dry run: custom fields are created by the runner when the first record is written, not for a run that writes nothing.
    prepared = await prepareMappings(deps.config, deps.ipaas, { dryRun: true, entity, ...(options.event ? { trigger: options.event } : {}) });
  } catch (err) {
    // Nothing was sent: record the reason against every requested customer so each one is visibly failed and retryable.
    for (const ref of list) {
      const a = newAttempt(ref, options.trigger, deps.now().toISOString());
      markFailed(deps, a, err);
      const stored = await deps.store.log.record(stampAttempt(deps, a, performance.now()));
      announceAttempt(deps, stored);
      report({ attempt: stored });
    }
    return summary;
  }
  if ('disabled' in prepared) {
    throw new ConnectorError('CONFIG_INVALID', `Nothing synced: ${prepared.disabled}`, { fix: 'Set status: Enabled on the mapping collection (and list the trigger event) to sync.' });
  }

  const { queue } = deps.store;
  const key = runKey(options.trigger, list);
  const latest = await queue.latestRunId(key);
  summary.resumed = latest !== undefined && (await queue.openInRun(latest)) > 0;
  const runId = summary.resumed ? latest! : latest ? `${key}.${Date.now().toString(36)}` : key;
  summary.runId = runId;
  await queue.insertRunJobs(list.map((ref) => ({ ...jobOf(ref), trigger: options.trigger, priority: 10, maxAttempts: deps.config.jobs.maxAttempts, runId })));
  deps.logger.info({ runId, customers: list.length, trigger: triggerLabel(options.trigger), resumed: summary.resumed }, summary.resumed ? 'manual run resumed' : 'manual run queued');

  const concurrency = Math.min(options.concurrency ?? deps.config.sync.concurrency, list.length);
  const plans = new PlanCache(deps);
  const pool = new WorkerPool(deps, plans, {
    concurrency,
    leaseMs: deps.config.jobs.leaseMs,
    pollMs: 20,
    backoff: { baseMs: deps.config.jobs.retryBaseMs, maxMs: deps.config.jobs.retryMaxMs },
  });
  const reported = new Set<number>();
  const maxWait = options.maxRetryWaitMs ?? 60_000;
  await pool.start();
  try {
    for (;;) {
      let open = 0;
      let soon = 0;
      for (const j of await queue.runStates(runId)) {
        // Ended, or held by the quota after a failed attempt (it waits for `retry`): reported once, with that attempt.
        const held = j.state === 'held';
        if (j.state === 'review') {
          // Answered, and waiting for a person: this run is done with it.
          if (!reported.has(j.id)) {
            reported.add(j.id);
            summary.awaitingReview++;
            // Its call is paid already: the run's tokens and cost include it (logged when a person decides).
            const answer = (await deps.store.queue.get(j.id))?.answer as StoredAnswer | null | undefined;
            if (answer?.usage && !answer.usageLogged) {
              summary.inputTokens += answer.usage.inputTokens;
              summary.cachedTokens += answer.usage.cachedTokens;
              summary.outputTokens += answer.usage.outputTokens;
              summary.costUsd += answer.costUsd ?? 0;
            }
            options.onReview?.(j.id, summary.results.length + summary.awaitingReview, list.length);
          }
        } else if (j.state === 'written' || j.state === 'skipped' || j.state === 'failed' || (held && j.lastAttemptId)) {
          if (reported.has(j.id)) continue;
          reported.add(j.id);
          const attempt = j.lastAttemptId ? await deps.store.log.get(j.lastAttemptId) : undefined;
          if (attempt) report({ attempt });
        } else if (!held) {
          open++;
          if (j.state !== 'pending' || j.runAfter <= Date.now() + maxWait) soon++;
        }
      }
      if (soon === 0) {
        summary.waiting = list.length - reported.size;
        break;
      }
      await sleep(25);
    }
  } finally {
    // Calls in flight may answer (stored, never paid again) before the rest is handed back.
    await pool.stop(5_000, 'drain');
    summary.createdCustomFields = plans.created;
  }
  return summary;
}
