/**
 * Validates the body of POST /__emulator/webhooks/send (and webhooks.send()): an event to send now, with
 * the overrides tests of a receiver need (replay, wrong secret, stale timestamp). A bad body is a 400 in
 * OpenAI's error shape whose param names the field, like the control API's other endpoints.
 */
import { z } from 'zod';
import { fieldIssues, summarize } from '../zod-issues.js';
import { ApiError } from './errors.js';
import { isHttpUrl } from './webhook-config.js';
import { webhookSecretProblem } from './webhook-signing.js';
import { WEBHOOK_EVENT_TYPES, type WebhookSendRequest } from './webhook-types.js';

const EXAMPLE = '{"type":"batch.completed","data":{"id":"batch_abc"}} or {"replayOf":"wh_...","timestamp":1700000000}';
const seconds = (name: string) => {
  const message = `${name} must be a whole number of unix seconds >= 0.`;
  return z.int({ error: message }).min(0, { error: message }).optional();
};

const SendSchema = z
  .strictObject(
    {
      type: z.enum(WEBHOOK_EVENT_TYPES, { error: `type must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}.` }).optional(),
      data: z
        .strictObject(
          { id: z.string({ error: 'data.id must be a string, e.g. "batch_abc".' }).min(1, { error: 'data.id must not be empty.' }) },
          { error: 'data must be an object {"id": "..."} (the batch or response the event is about).' },
        )
        .optional(),
      eventId: z.string({ error: 'eventId must be a string, e.g. "evt_abc".' }).min(1, { error: 'eventId must not be empty.' }).optional(),
      createdAt: seconds('createdAt'),
      replayOf: z.string({ error: 'replayOf must be the webhook-id of an earlier delivery.' }).min(1, { error: 'replayOf must not be empty.' }).optional(),
      secret: z
        .string({ error: "secret must be a string: 'whsec_' followed by base64." })
        .superRefine((s, ctx) => {
          const problem = webhookSecretProblem(s);
          if (problem) ctx.addIssue({ code: 'custom', message: `secret: ${problem}` });
        })
        .optional(),
      timestamp: seconds('timestamp'),
      url: z.string({ error: 'url must be an http(s) URL.' }).refine(isHttpUrl, { error: 'url must be an http(s) URL.' }).optional(),
      retry: z.boolean({ error: 'retry must be true or false.' }).optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `Unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; send takes type, data, eventId, createdAt, replayOf, secret, timestamp, url and retry.`
          : issue.code === 'invalid_type'
            ? 'The body must be a JSON object (all fields optional).'
            : undefined,
    },
  )
  .refine((r) => r.replayOf === undefined || (r.type ?? r.data ?? r.eventId ?? r.createdAt) === undefined, {
    error: 'replayOf sends an earlier event exactly as it was: leave out type, data, eventId and createdAt.',
    path: ['replayOf'],
  });

/** Parses a send request or throws a 400 ApiError naming the bad field. */
export function parseWebhookSendRequest(body: unknown): WebhookSendRequest {
  const parsed = SendSchema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw new ApiError(
    400,
    'invalid_request_error',
    `Invalid webhook send: ${summarize(issues)} Example: ${EXAMPLE}.`,
    issues[0]?.field ?? null,
    'invalid_webhook_send',
  );
}
