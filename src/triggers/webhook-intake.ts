import { z } from 'zod';
import type { JobTrigger, WebhookEvent } from '../queue/trigger.js';
import type { ConnectorConfig, TriggerEvent } from '../config/schema.js';
import { selectCollections } from '../mapping/collections.js';
import type { AttemptRecord } from '../store/sync-store.js';
import type { SqliteStore } from '../store/sqlite-store.js';
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

const SCOPE = /^customer\/(created|updated|deleted)(\/debug)?$/i;

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
export async function takeInWebhook(store: SqliteStore, config: ConnectorConfig, body: WebhookBody, now: () => Date, redact: (s: string) => string): Promise<IntakeResult> {
  const jobs = store.jobs;
  const result: IntakeResult = { received: body.notifications.length, enqueued: [], skipped: [] };
  const skip = (customerId: string, trigger: JobTrigger, reason: string) => {
    result.skipped.push({ customerId, reason });
    const a: AttemptRecord = newAttempt({ id: customerId }, trigger, now().toISOString());
    a.outcome = 'skipped';
    a.errorMessage = redact(reason);
    store.recordAttempt(a);
  };
  // Concurrent deliveries share one commit; each resolves only once its jobs are durable.
  await jobs.commit(() => {
    for (const n of body.notifications) {
      const [, action, debug] = SCOPE.exec(n.scope)!;
      const customerId = String(n.id);
      const trigger: JobTrigger = { source: 'webhook', event: action!.toLowerCase() as WebhookEvent, debug: !!debug };
      const eventKey = n.tracking_guid ? `tg:${n.tracking_guid}` : `d:${body.id}:${customerId}:${n.scope.toLowerCase()}`;
      const seen = jobs.seenEvent(eventKey);
      const record = (jobId: number | null, outcome: string) =>
        jobs.recordEvent({ eventKey, deliveryId: String(body.id), attempt: body.attempt, scope: n.scope, customerId, jobId, outcome });
      if (seen) {
        skip(customerId, trigger, `Duplicate delivery of webhook ${body.id} (attempt ${body.attempt}, ${n.scope}): already received${seen.jobId ? ` as job ${seen.jobId}` : ''}.`);
        continue;
      }
      if (action!.toLowerCase() === 'deleted') {
        record(null, 'skipped');
        skip(customerId, trigger, 'Customer deletions are not sent to OpenAI.');
        continue;
      }
      const event: TriggerEvent = action!.toLowerCase() === 'created' ? 'Customer Create' : 'Customer Update';
      const active = selectCollections(config, event);
      if ('disabled' in active) {
        record(null, 'skipped');
        skip(customerId, trigger, active.disabled);
        continue;
      }
      const { job, coalesced } = jobs.enqueue({ ref: customerId, refKind: 'id', customerId, trigger, priority: debug ? 10 : 0, maxAttempts: config.jobs.maxAttempts, eventKey });
      record(job.id, coalesced ? 'coalesced' : 'enqueued');
      result.enqueued.push({ customerId, jobId: job.id, coalesced });
      if (coalesced) skip(customerId, trigger, `Coalesced into job ${job.id}, which will sync the newest data once.`);
    }
  });
  return result;
}
