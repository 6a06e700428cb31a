/** Public types of the webhooks the OpenAI emulator sends (webhook-sender.ts). */

/** The emulator's one webhook endpoint, as a project's endpoint is set up in OpenAI's dashboard. */
export interface WebhookOptions {
  /** Where events are POSTed (http or https); no URL, no webhooks. */
  url?: string;
  /** The endpoint's signing secret: `whsec_` + base64. Required with a URL. */
  secret?: string;
  /** Attempts per event, the first included, while the receiver does not answer 2xx; default 8. */
  maxAttempts?: number;
  /** Wait before the first retry, doubling for each further one; default 5000 (tests: a few ms). */
  retryBaseMs?: number;
}

/** The settings as GET /__emulator/settings shows them (the secret itself is never shown). */
export interface WebhookSettings {
  url: string | null;
  secretSet: boolean;
  maxAttempts: number;
  retryBaseMs: number;
}

/** PATCH /__emulator/settings `webhook`: `url: null` turns webhooks off. */
export interface WebhookSettingsPatch {
  url?: string | null;
  secret?: string;
  maxAttempts?: number;
  retryBaseMs?: number;
}

/** The event types the emulator can send (the SDK's batch.* and response.* webhook events). */
export const WEBHOOK_EVENT_TYPES = [
  'batch.completed',
  'batch.failed',
  'batch.expired',
  'batch.cancelled',
  'response.completed',
  'response.failed',
  'response.cancelled',
  'response.incomplete',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The body of a delivery (openai-node BatchCompletedWebhookEvent and its siblings). */
export interface WebhookEvent {
  id: string;
  object: 'event';
  type: WebhookEventType;
  /** Unix seconds when the batch (or response) reached the state the type names. */
  created_at: number;
  data: { id: string };
}

/** One delivery attempt. */
export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every attempt of one event (Standard Webhooks). */
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  attempt: number;
  url: string;
  /** The `webhook-timestamp` sent (unix seconds). */
  timestamp: number;
  /** The receiver's HTTP status; null on a network error or timeout. */
  status: number | null;
  /** The receiver answered 2xx. */
  ok: boolean;
  error?: string;
  /** ISO time the attempt ended. */
  at: string;
  /** ISO time of the next attempt, when one was scheduled. */
  nextAttemptAt?: string;
  /** Sent by POST /__emulator/webhooks/send (or webhooks.send()), not by a batch. */
  manual: boolean;
}

/**
 * What POST /__emulator/webhooks/send takes: an event to send now, and the ways a test makes it wrong.
 * Every field is optional; the event defaults to batch.completed for a made-up batch id.
 */
export interface WebhookSendRequest {
  type?: WebhookEventType;
  data?: { id: string };
  /** The event's id (default a fresh evt_...). */
  eventId?: string;
  /** The event's created_at (default now). */
  createdAt?: number;
  /**
   * A replay: the webhook-id of an earlier delivery, whose exact body is sent again with that id and,
   * unless `timestamp` is given, its first timestamp too (so the same signature: a captured request
   * sent again). type / data / eventId / createdAt are then not allowed.
   */
  replayOf?: string;
  /** Sign with this secret instead of the configured one (a wrong-signature test); any string `whsec_` + base64. */
  secret?: string;
  /** The webhook-timestamp to send and sign (unix seconds; e.g. 10 minutes ago for a stale one). */
  timestamp?: number;
  /** Send to this URL instead of the configured one. */
  url?: string;
  /** Retry like a batch event while the receiver does not answer 2xx, with the same overrides; default false. */
  retry?: boolean;
}

export interface WebhookSendResult {
  event: WebhookEvent;
  webhookId: string;
  /** The first attempt, awaited. */
  delivery: WebhookDelivery;
}

/** emulator.webhooks: what the control API's /__emulator/webhooks endpoints do, in-process. */
export interface WebhookControl {
  /** Every attempt so far (the last 1000), oldest first. */
  deliveries(): WebhookDelivery[];
  /** Sends an event now and resolves with its first attempt. Throws a 400 ApiError on a bad request. */
  send(req?: WebhookSendRequest): Promise<WebhookSendResult>;
  /** Resolves when no attempt is in flight (scheduled retries are not awaited). */
  flush(): Promise<void>;
}
