import { z } from 'zod';
import type { JobTrigger, WebhookEvent } from '../queue/trigger.js';
import type { ConnectorConfig, TriggerEvent } from '../config/schema.js';
import { entityModel, parseRecordKey, recordKeyOf, type EntityModel, type EntityName } from '../ipaas/entities.js';
import { selectCollections } from '../mapping/collections.js';
import type { AttemptRecord, IntakeItem, IntakeSkip, Storage } from '../store/ports.js';
import { newAttempt } from '../queue/attempt.js';

/** iPaaS.com's outbound webhook body (lenient: extra keys are tolerated). */
export const webhookBodySchema = z
  .object({
    id: z.union([z.string().min(1), z.number()]),
    attempt: z.number().int().min(1).default(1),
    notifications: z
      .array(
        z
          .object({
            action: z.string().nullish(),
            id: z.union([z.string().min(1), z.number()]),
            external_id: z.unknown().optional(),
            destination: z.unknown().optional(),
            scope: z.string().min(1),
            type: z.string().nullish(),
            tracking_guid: z.string().nullish(),
          })
          .loose(),
      )
      .min(1)
      .max(1000),
  })
  .loose();
export type WebhookBody = z.infer<typeof webhookBodySchema>;

const SCOPE = /^(customer|product)\/(created|updated|deleted)(\/debug)?$/i;

/** A notification's scope as fields: the data model, the event, and whether it is a /debug scope. */
function parseScope(scope: string): { model: EntityModel; event: WebhookEvent; debug: boolean } {
  const [, entity, action, debug] = SCOPE.exec(scope)!;
  return { model: entityModel(entity!.toLowerCase() as EntityName), event: action!.toLowerCase() as WebhookEvent, debug: !!debug };
}

const triggerOf = (scope: string): JobTrigger => {
  const { model, event, debug } = parseScope(scope);
  return { source: 'webhook', event, debug, ...(model.name !== 'customer' ? { entity: model.name } : {}) };
};

export function unknownScopes(body: WebhookBody): string[] {
  return body.notifications.map((n) => n.scope).filter((s) => !SCOPE.test(s));
}

export interface IntakeResult {
  received: number;
  enqueued: Array<{ customerId: string; jobId: number; coalesced: boolean }>;
  skipped: Array<{ customerId: string; reason: string }>;
}

/**
 * Turns one webhook delivery into jobs, in one transaction, before it is
 * acknowledged. Duplicates (a retried delivery, the same event twice), events
 * of a disabled collection and deletions are skipped and logged with the reason.
 */
export async function takeInWebhook(store: Storage, config: ConnectorConfig, body: WebhookBody, now: () => Date, redact: (s: string) => string): Promise<IntakeResult> {
  const items: IntakeItem[] = body.notifications.map((n) => {
    const { model, event, debug } = parseScope(n.scope);
    const id = String(n.id);
    // The record's key: a customer's id as it is, another model's prefixed, so ids of two models never meet.
    const customerId = recordKeyOf(model.name, id);
    const trigger = triggerOf(n.scope);
    const item: IntakeItem = {
      eventKey: n.tracking_guid ? `tg:${n.tracking_guid}` : `d:${body.id}:${customerId}:${n.scope.toLowerCase()}`,
      deliveryId: String(body.id),
      attempt: body.attempt,
      scope: n.scope,
      customerId,
    };
    if (event === 'deleted') return { ...item, skipReason: `${model.label} deletions are not sent to OpenAI.` };
    const active = selectCollections(config, (event === 'created' ? model.events.created : model.events.updated) as TriggerEvent, model.name);
    if ('disabled' in active) return { ...item, skipReason: active.disabled };
    return { ...item, job: { ref: id, refKind: 'id', customerId, trigger, priority: debug ? 10 : 0, maxAttempts: config.jobs.maxAttempts, eventKey: item.eventKey } };
  });
  const reasonFor = (item: IntakeItem, why: IntakeSkip): string =>
    why.kind === 'skipped'
      ? why.reason
      : why.kind === 'coalesced'
        ? `Coalesced into job ${why.jobId}, which will sync the newest data once.`
        : `Duplicate delivery of webhook ${item.deliveryId} (attempt ${item.attempt}, ${item.scope}): already received${why.jobId ? ` as job ${why.jobId}` : ''}.`;
  const skipAttempt = (item: IntakeItem, why: IntakeSkip): AttemptRecord => {
    const key = parseRecordKey(item.customerId);
    const a = newAttempt({ entity: key.entity, id: key.id }, triggerOf(item.scope), now().toISOString());
    a.outcome = 'skipped';
    a.errorMessage = redact(reasonFor(item, why));
    return a;
  };
  // Acknowledged only once this commit is durable (concurrent deliveries share it).
  const outcomes = await store.queue.intake(items, skipAttempt);
  const result: IntakeResult = { received: body.notifications.length, enqueued: [], skipped: [] };
  outcomes.forEach((o, i) => {
    const item = items[i]!;
    if (o.kind === 'enqueued') {
      result.enqueued.push({ customerId: item.customerId, jobId: o.job.id, coalesced: o.coalesced });
      if (o.coalesced) result.skipped.push({ customerId: item.customerId, reason: reasonFor(item, { kind: 'coalesced', jobId: o.job.id }) });
    } else result.skipped.push({ customerId: item.customerId, reason: reasonFor(item, o) });
  });
  return result;
}
