/**
 * The webhooks OpenAI sends, as the emulator sends them: a batch that ends (completed, failed, expired,
 * cancelled) POSTs `{id: "evt_...", object: "event", type: "batch.<status>", created_at, data: {id}}` to
 * the configured URL, signed per Standard Webhooks (webhook-signing.ts), and retried with doubling waits
 * while the receiver does not answer 2xx (shared/domain/openai/facts.md: deliveries without a 2xx are
 * retried for up to 72 h; the schedule is decided, webhook-config.ts). One event keeps its webhook-id
 * and body on every attempt, as Standard Webhooks asks; each attempt gets its own timestamp and
 * signature. Tests can also send an event now, or a wrong one.
 */
import { randomBytes } from 'node:crypto';
import { ApiError } from './errors.js';
import type { WebhookConfig } from './webhook-config.js';
import { parseWebhookSendRequest } from './webhook-send-request.js';
import { signWebhook } from './webhook-signing.js';
import type { WebhookDelivery, WebhookEvent, WebhookEventType, WebhookSendRequest, WebhookSendResult } from './webhook-types.js';

/** [decided] How long a receiver has to answer one attempt (OpenAI does not publish its own). */
export const WEBHOOK_DELIVERY_TIMEOUT_MS = 10_000;
/** The user-agent of OpenAI's deliveries, as in the example request of its webhooks guide (recalled, not
 * checked against a stored copy; receivers should not depend on it). */
export const WEBHOOK_USER_AGENT = 'OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)';
const MAX_KEPT = 1000;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface WebhookCounters {
  webhookAttempts: number;
  webhooksDelivered: number;
  webhooksFailed: number;
}

/** One event on its way: everything its attempts share. */
interface Outgoing {
  webhookId: string;
  event: WebhookEvent;
  rawBody: string;
  url: string;
  secret: string;
  /** Sent (and signed) on every attempt instead of the attempt's own time. */
  fixedTimestamp: number | undefined;
  maxAttempts: number;
  retryBaseMs: number;
  manual: boolean;
}

export class WebhookSender {
  private readonly records: WebhookDelivery[] = [];
  /** webhook-id -> what was sent first, for replays. */
  private readonly sent = new Map<string, { event: WebhookEvent; rawBody: string; timestamp: number }>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private closed = false;

  /** `config` is the live object PATCH /__emulator/settings changes; each event reads it once, when it starts. */
  constructor(
    readonly config: WebhookConfig,
    private readonly counters: WebhookCounters,
  ) {}

  /** A batch reached a final state: sends its event when an endpoint is configured; returns at once. */
  emit(type: WebhookEventType, objectId: string, createdAt: number): void {
    const { url, secret, maxAttempts, retryBaseMs } = this.config;
    if (this.closed || url === null || secret === null) return;
    const event = newEvent(type, objectId, createdAt);
    this.track(this.attempt({ webhookId: newWebhookId(), event, rawBody: JSON.stringify(event), url, secret, fixedTimestamp: undefined, maxAttempts, retryBaseMs, manual: false }, 1));
  }

  /** POST /__emulator/webhooks/send: validates (400 ApiError), sends now, resolves with the first attempt. */
  async send(raw: unknown = {}): Promise<WebhookSendResult> {
    const req: WebhookSendRequest = parseWebhookSendRequest(raw);
    const url = req.url ?? this.config.url;
    const secret = req.secret ?? this.config.secret;
    if (url === null) throw new ApiError(400, 'invalid_request_error', 'No webhook URL is configured: set webhook.url in the settings, or send a url.', 'url', 'invalid_webhook_send');
    if (secret === null) throw new ApiError(400, 'invalid_request_error', 'No webhook secret is configured: set webhook.secret in the settings, or send a secret.', 'secret', 'invalid_webhook_send');
    if (this.closed) throw new ApiError(503, 'server_error', 'The emulator is closing.');

    let webhookId: string;
    let event: WebhookEvent;
    let rawBody: string;
    let fixedTimestamp = req.timestamp;
    if (req.replayOf !== undefined) {
      const earlier = this.sent.get(req.replayOf);
      if (!earlier) throw new ApiError(400, 'invalid_request_error', `No delivery with webhook-id '${req.replayOf}' to replay.`, 'replayOf', 'invalid_webhook_send');
      ({ event, rawBody } = earlier);
      webhookId = req.replayOf;
      fixedTimestamp ??= earlier.timestamp;
    } else {
      event = newEvent(req.type ?? 'batch.completed', req.data?.id ?? `batch_${hex(16)}`, req.createdAt ?? nowSeconds(), req.eventId);
      rawBody = JSON.stringify(event);
      webhookId = newWebhookId();
    }
    const out: Outgoing = {
      webhookId, event, rawBody, url, secret, fixedTimestamp,
      maxAttempts: req.retry ? this.config.maxAttempts : 1,
      retryBaseMs: this.config.retryBaseMs,
      manual: true,
    };
    const delivery = await this.track(this.attempt(out, 1));
    return { event, webhookId, delivery };
  }

  deliveries(): WebhookDelivery[] {
    return this.records.map((r) => ({ ...r }));
  }

  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Cancels scheduled retries and aborts attempts in flight. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const tracked = p.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private async attempt(o: Outgoing, n: number): Promise<WebhookDelivery> {
    this.counters.webhookAttempts += 1;
    const timestamp = o.fixedTimestamp ?? nowSeconds();
    if (!this.sent.has(o.webhookId)) {
      this.sent.set(o.webhookId, { event: o.event, rawBody: o.rawBody, timestamp });
      if (this.sent.size > MAX_KEPT) this.sent.delete(this.sent.keys().next().value as string);
    }
    let status: number | null = null;
    let error: string | undefined;
    try {
      const res = await fetch(o.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          'webhook-id': o.webhookId,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(o.secret, o.webhookId, timestamp, o.rawBody),
        },
        body: o.rawBody,
        // A redirect is not a 2xx, so not an acknowledgement (a secondary source, Hookdeck's guide to
        // OpenAI webhooks, says 3xx counts as a failure there too).
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(WEBHOOK_DELIVERY_TIMEOUT_MS), this.abort.signal]),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (status < 200 || status > 299) error = `Receiver answered HTTP ${status}.`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const ok = error === undefined;
    const record: WebhookDelivery = {
      webhookId: o.webhookId, eventId: o.event.id, type: o.event.type, attempt: n, url: o.url, timestamp, status, ok,
      at: new Date().toISOString(), manual: o.manual,
    };
    if (error !== undefined) record.error = error;
    if (ok) this.counters.webhooksDelivered += 1;
    else if (n < o.maxAttempts && !this.closed) {
      const delay = o.retryBaseMs * 2 ** (n - 1);
      record.nextAttemptAt = new Date(Date.now() + delay).toISOString();
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) this.track(this.attempt(o, n + 1));
      }, delay);
      t.unref();
      this.timers.add(t);
    } else this.counters.webhooksFailed += 1;
    this.records.push(record);
    if (this.records.length > MAX_KEPT) this.records.shift();
    return { ...record };
  }
}

/** The id forms of OpenAI's examples: webhook-id `wh_` and event id `evt_`, each with 32 hex digits. */
function newWebhookId(): string {
  return `wh_${hex(16)}`;
}

function newEvent(type: WebhookEventType, objectId: string, createdAt: number, eventId?: string): WebhookEvent {
  return { id: eventId ?? `evt_${hex(16)}`, object: 'event', type, created_at: createdAt, data: { id: objectId } };
}
