import type { SyncDeps } from '../app/sync-deps.js';
import type { RecordRef } from '../pipeline/load-record.js';
import { newTrialId, runTrial, type TrialVariantPlan } from '../pipeline/trial.js';
import { describeError } from '../shared/errors.js';
import { HttpError } from './http-errors.js';

/** Where a trial started by this service stands (the calls themselves are in the store). */
export interface TrialProgress {
  trialId: string;
  /** preparing: checking the mappings and picking the customers; nothing sent yet. */
  status: 'preparing' | 'running' | 'finished' | 'stopped' | 'failed';
  customers: number;
  done: number;
  startedAt: string;
  finishedAt: string | null;
  error: { message: string; fix?: string | undefined } | null;
}

const KEEP = 20;

/**
 * Runs prompt-lab trials for the API in the background, one at a time: each makes real OpenAI calls
 * (paced with the workers' by the service's limiter, counted in the spend caps), so a second one
 * is refused while one runs rather than queued behind it unseen.
 */
export class TrialRunner {
  private current: { progress: TrialProgress; abort: AbortController; done: Promise<void> } | undefined;
  /** Trials this process ran, newest last (their status after the fact; the calls are in the store). */
  private readonly recent = new Map<string, TrialProgress>();

  constructor(private readonly deps: SyncDeps) {}

  progress(trialId: string): TrialProgress | undefined {
    return this.current?.progress.trialId === trialId ? this.current.progress : this.recent.get(trialId);
  }

  running(): TrialProgress | undefined {
    return this.current?.progress;
  }

  /**
   * Starts a trial: `prepare` (plans and customers) runs first and its errors go to the caller with nothing
   * started; then the calls go on in the background and this resolves with the trial's id at once.
   */
  async start(prepare: () => Promise<{ plans: TrialVariantPlan[]; refs: RecordRef[] }>): Promise<TrialProgress & { plans: TrialVariantPlan[] }> {
    const busy = this.current?.progress;
    if (busy) {
      throw new HttpError(409, `Trial ${busy.trialId} is still running (${busy.done} of ${busy.customers} customers done); one trial runs at a time.`, `Wait for it to finish (GET /api/trials/${busy.trialId}), then start this one again.`);
    }
    const progress: TrialProgress = { trialId: newTrialId(), status: 'preparing', customers: 0, done: 0, startedAt: this.deps.now().toISOString(), finishedAt: null, error: null };
    const abort = new AbortController();
    const slot = { progress, abort, done: Promise.resolve() };
    this.current = slot;
    let prepared: { plans: TrialVariantPlan[]; refs: RecordRef[] };
    try {
      prepared = await prepare();
    } catch (err) {
      this.current = undefined;
      throw err;
    }
    progress.status = 'running';
    progress.customers = prepared.refs.length;
    slot.done = this.run(progress, prepared, abort.signal);
    return { ...progress, plans: prepared.plans };
  }

  private async run(progress: TrialProgress, { plans, refs }: { plans: TrialVariantPlan[]; refs: RecordRef[] }, signal: AbortSignal): Promise<void> {
    const { logger } = this.deps;
    logger.info({ trialId: progress.trialId, customers: refs.length, prompts: plans.map((p) => p.plan.promptVersion.id) }, 'prompt lab: trial started');
    try {
      const { summary } = await runTrial(this.deps, plans, refs, { signal, trialId: progress.trialId, onCustomer: (_, done) => (progress.done = done) });
      progress.status = signal.aborted ? 'stopped' : 'finished';
      logger.info({ trialId: progress.trialId, status: progress.status, calls: summary.calls, failed: summary.failed, costUsd: summary.costUsd }, 'prompt lab: trial ended');
    } catch (err) {
      // runTrial keeps each call's own failure with the call; this is what stopped the whole trial (e.g. the store).
      const e = describeError(err);
      progress.status = 'failed';
      progress.error = { message: this.deps.redact(e.message), fix: e.fix };
      logger.error({ trialId: progress.trialId, error: e.code, reason: progress.error.message, fix: e.fix }, 'prompt lab: trial failed');
    } finally {
      progress.finishedAt = this.deps.now().toISOString();
      this.recent.set(progress.trialId, progress);
      while (this.recent.size > KEEP) this.recent.delete(this.recent.keys().next().value!);
      if (this.current?.progress === progress) this.current = undefined;
    }
  }

  /** Service stop: the trial in flight stops after its current call (its calls so far stay in the store). */
  async stop(): Promise<void> {
    const c = this.current;
    if (!c) return;
    c.abort.abort();
    await c.done;
  }
}
