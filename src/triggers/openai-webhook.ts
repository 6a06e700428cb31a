/**
 * "OpenAI Add/Update Message TO iPaaS": every webhook OpenAI sends is first stored as a Message record,
 * whose id joins the webhook's scope (its event type) and the source id (`batch.completed:batch_abc`, as
 * iPaaS.com's HOOK-12345), and only then translated into what it concerns. A batch that ended is applied
 * at once by the batch runner, the same code a poll runs: completed results become answered jobs the
 * workers write back; the lines of a failed, expired or cancelled batch go the configured fallback way.
 */
import type OpenAI from 'openai';
import { z } from 'zod';
import type { SyncDeps } from '../app/sync-deps.js';
import type { PlanCache } from '../queue/plan-cache.js';
import { describeError, InterruptedError, UpstreamError } from '../shared/errors.js';
import type { MessageOutcome, NewMessage, StoredBatch, StoredMessage } from '../store/ports.js';
import { BatchRunner, linesOf, retrieveBatch, type BatchTally } from './batch/batch-runner.js';

/** An OpenAI webhook event (lenient: OpenAI adds fields and event types over time). */
export const openaiEventSchema = z
  .object({
    id: z.string().min(1),
    type: z.string().min(1).max(100),
    created_at: z.number().optional(),
    data: z.object({ id: z.string().min(1).max(200) }).loose().optional(),
  })
  .loose();
export type OpenAIEvent = z.infer<typeof openaiEventSchema>;

/** The Message a delivery becomes, before anything is done with it. */
export function messageOf(webhookId: string, event: OpenAIEvent, rawBody: string): NewMessage {
  const sourceId = event.data?.id ?? null;
  return { webhookId, id: `${event.type}:${sourceId ?? event.id}`, eventType: event.type, eventId: event.id, sourceId, body: rawBody };
}

export interface MessageAction {
  outcome: Exclude<MessageOutcome, 'received'>;
  detail: string;
  lines?: number | null;
}

const BATCH_ENDED = /^batch\.(completed|failed|expired|cancelled)$/;

/** Acts on a stored Message. Throws when it could not be acted on (OpenAI or the store did not answer). */
export async function actOnMessage(deps: SyncDeps, plans: PlanCache, m: StoredMessage, signal?: AbortSignal): Promise<MessageAction> {
  if (BATCH_ENDED.test(m.eventType)) {
    if (m.sourceId) return actOnBatch(deps, plans, m.sourceId, signal);
    return { outcome: 'ignored', detail: `This ${m.eventType} event names no batch (data.id); nothing can be applied.` };
  }
  if (m.eventType.startsWith('response.')) {
    return { outcome: 'ignored', detail: `This connector starts no background responses, so ${m.eventType} asks nothing of it; kept as received.` };
  }
  return { outcome: 'ignored', detail: `No action is taken on ${m.eventType} events; kept as received.` };
}

async function actOnBatch(deps: SyncDeps, plans: PlanCache, batchId: string, signal?: AbortSignal): Promise<MessageAction> {
  const known = await deps.store.runs.batch(batchId);
  const { stored, asked } = known ? { stored: known, asked: undefined } : await adoptByMetadata(deps, plans, batchId);
  if (!stored) {
    return {
      outcome: 'unknown-batch',
      detail: `No batch ${batchId} in this connector's store: not one of its sync --all --batch runs (another tool on the same OpenAI project, or a database that was replaced). Nothing was done.`,
    };
  }
  const r = await new BatchRunner(deps, plans, stored.runId ?? '', false, signal).applyNow(stored, asked);
  if (r.kind === 'open') return { outcome: 'ignored', detail: `OpenAI still reports batch ${batchId} as ${r.status}; it is applied when a poll finds it ended.` };
  if (r.kind === 'already-applied') {
    return {
      outcome: 'already-applied',
      detail: r.by === 'earlier' ? `Batch ${batchId} was applied before (by a poll or an earlier delivery); nothing to do.` : `Batch ${batchId} is being applied right now by a poll or another delivery; nothing done here.`,
    };
  }
  const lines = linesOf(r.tally);
  const detail = `${r.status === 'completed' ? 'Applied' : `The batch ${r.status === 'failed' ? 'failed' : `ended ${r.status}`}; settled`} ${lines} line${lines === 1 ? '' : 's'} of batch ${batchId}: ${tallyText(r.tally, deps.config.batch.onLineFailure)}.`;
  return { outcome: r.status === 'completed' ? 'applied' : 'fallback', detail, lines };
}

function tallyText(t: BatchTally, onLineFailure: 'direct' | 'retry'): string {
  const parts = [`${t.answered} answered (the workers write them back)`];
  if (t.skipped) parts.push(`${t.skipped} skipped`);
  if (t.errors) parts.push(`${t.errors} not applied (see the sync log: retried or failed by the queue's rules)`);
  if (t.fallback) parts.push(`${t.fallback} sent ${onLineFailure === 'direct' ? 'as direct calls' : 'to the next batch of the run'} (batch.onLineFailure: ${onLineFailure})`);
  return parts.join(', ');
}

/**
 * A batch the store does not know may be one whose create answer never reached it (D1): OpenAI's copy
 * names the run and the intent in its metadata, and the batch runner adopts it. Anything else is unknown.
 */
async function adoptByMetadata(deps: SyncDeps, plans: PlanCache, batchId: string): Promise<{ stored: StoredBatch | undefined; asked?: OpenAI.Batch }> {
  let batch;
  try {
    batch = await retrieveBatch(deps, batchId);
  } catch (err) {
    if (err instanceof UpstreamError && err.status === 404) return { stored: undefined };
    throw err;
  }
  const runId = batch.metadata?.run_id;
  if (!runId || !(await new BatchRunner(deps, plans, runId).adopt(batch))) return { stored: undefined };
  return { stored: await deps.store.runs.batch(batchId), asked: batch };
}

/** A Message that could not be acted on: the reason and what happens next. */
export function failedAction(err: unknown): MessageAction {
  if (err instanceof InterruptedError) {
    return { outcome: 'error', detail: 'The connector stopped while applying; the lines not yet applied stay in the batch, and the next poll (or a restart of sync --all --batch) applies them.' };
  }
  const e = describeError(err);
  return { outcome: 'error', detail: `${e.message}${e.fix ? ` Fix: ${e.fix}` : ''} Polling applies the batch all the same (sync --all --batch, run again to resume).` };
}
