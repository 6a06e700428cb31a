/**
 * Webhook subscriptions (/hookapi/v2/...) and outbound delivery with iPaaS.com's retry
 * schedule: after failed attempt n, retry after 10*n*(n+1) "minutes". [C] scopes are lower-case
 * `entity/action` (customer/created, ...; the product articles name product/created and
 * product/updated by that rule); [D] a product notification's `type` is 'Product'.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { IpaasHttpError, validationError, type FieldError } from './errors.js';
import type { IpaasWebhookJson, IpaasWebhookPayload, WebhookDeliveryRecord, WebhookRecordType } from './types.js';

export const DELIVERY_TIMEOUT_MS = 10_000;
const SCOPE_RE = /^(customer|product)\/(created|updated|deleted)(\/debug)?$/;

export interface StoredWebhook extends IpaasWebhookJson {
  webhook_api_key: string;
  hmac_secret: string | null;
}

type Action = 'created' | 'updated' | 'deleted';
export type RecordEventScope = `${'customer' | 'product'}/${Action}`;
export type CustomerEventScope = `customer/${Action}`;

const TYPES: Record<string, WebhookRecordType> = { customer: 'Customer', product: 'Product' };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export class WebhookRegistry {
  private readonly hooks: StoredWebhook[] = [];
  private nextId = 1;

  list(): IpaasWebhookJson[] {
    return this.hooks.map(({ id, scope, destination_url, created_datetime }) => ({ id, scope, destination_url, created_datetime }));
  }

  /** Webhooks listening to `scope` (exactly, or with the /debug suffix). */
  matching(scope: RecordEventScope): StoredWebhook[] {
    return this.hooks.filter((h) => h.scope === scope || h.scope === `${scope}/debug`).map((h) => ({ ...h }));
  }

  create(body: unknown): IpaasWebhookJson {
    if (!isRecord(body)) throw new IpaasHttpError(400, 'The request body must be a JSON object.');
    const errors: FieldError[] = [];
    const scope = typeof body['scope'] === 'string' ? body['scope'].trim().toLowerCase() : '';
    if (!SCOPE_RE.test(scope)) {
      errors.push({
        field: 'scope',
        message: `Scope '${String(body['scope'] ?? '')}' is not valid; expected customer/ or product/ followed by created, updated or deleted, optionally with /debug.`,
      });
    }
    const url = body['destination_url'];
    let urlOk = false;
    if (typeof url === 'string') {
      try {
        const u = new URL(url);
        urlOk = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        urlOk = false;
      }
    }
    if (!urlOk) {
      errors.push({ field: 'destination_url', message: `Destination URL '${String(url ?? '')}' is not a valid http(s) URL.` });
    }
    const key = body['webhook_api_key'];
    if (typeof key !== 'string' || key.trim() === '') {
      errors.push({ field: 'webhook_api_key', message: 'Webhook API key is required.' });
    }
    const secret = body['hmac_secret'];
    if (secret !== undefined && secret !== null && (typeof secret !== 'string' || secret === '')) {
      errors.push({ field: 'hmac_secret', message: 'hmac_secret must be a non-empty string when given.' });
    }
    if (errors.length > 0) throw validationError(errors);
    const hook: StoredWebhook = {
      id: this.nextId++,
      scope,
      destination_url: url as string,
      created_datetime: new Date().toISOString(),
      webhook_api_key: key as string,
      hmac_secret: typeof secret === 'string' ? secret : null,
    };
    this.hooks.push(hook);
    return { id: hook.id, scope: hook.scope, destination_url: hook.destination_url, created_datetime: hook.created_datetime };
  }

  delete(id: number): void {
    const i = this.hooks.findIndex((h) => h.id === id);
    if (i < 0) throw new IpaasHttpError(404, `Webhook with id ${id} was not found.`);
    this.hooks.splice(i, 1);
  }
}

export interface DispatcherOptions {
  retryUnitMs: number;
  maxAttempts: number;
  onAttempt: () => void;
}

interface Delivery {
  id: number;
  hook: StoredWebhook;
  scope: string;
  type: WebhookRecordType;
  recordId: number;
  action: Action;
  trackingGuid: string;
  correlationId: string;
}

export class WebhookDispatcher {
  private nextDeliveryId = 1;
  private readonly records: WebhookDeliveryRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly opts: DispatcherOptions) {}

  /** Fires one delivery per hook for a record event; returns immediately. */
  dispatch(scope: RecordEventScope, recordId: number, hooks: StoredWebhook[]): void {
    if (this.closed) return;
    const [entity, action] = scope.split('/') as [string, Action];
    for (const hook of hooks) {
      const d: Delivery = {
        id: this.nextDeliveryId++,
        hook,
        scope: hook.scope,
        type: TYPES[entity] ?? 'Customer',
        recordId,
        action,
        trackingGuid: randomUUID(),
        correlationId: randomUUID(),
      };
      this.run(d, 1);
    }
  }

  deliveries(): WebhookDeliveryRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Resolves when every in-flight attempt finished (scheduled retries are not awaited). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Cancels pending retries and aborts in-flight attempts. */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
  }

  private run(d: Delivery, attempt: number): void {
    const p = this.attempt(d, attempt).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async attempt(d: Delivery, attempt: number): Promise<void> {
    this.opts.onAttempt();
    const payload: IpaasWebhookPayload = {
      id: d.id,
      attempt,
      notifications: [
        {
          action: d.action,
          id: String(d.recordId),
          external_id: null,
          destination: null,
          scope: d.scope,
          type: d.type,
          tracking_guid: d.trackingGuid,
        },
      ],
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      authorization: `Bearer ${d.hook.webhook_api_key}`,
      'content-type': 'application/json',
      'x-correlation-id': d.correlationId,
    };
    if (d.hook.hmac_secret) headers['x-ipaas-signature'] = signBody(d.hook.hmac_secret, body);

    let status: number | null = null;
    let error: string | undefined;
    try {
      const res = await fetch(d.hook.destination_url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([AbortSignal.timeout(DELIVERY_TIMEOUT_MS), this.abort.signal]),
      });
      status = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = `Receiver answered HTTP ${res.status}.`;
    } catch (e) {
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    const ok = error === undefined;
    const record: WebhookDeliveryRecord = {
      delivery_id: d.id,
      attempt,
      scope: d.scope,
      type: d.type,
      record_id: d.recordId,
      ...(d.type === 'Customer' ? { customer_id: d.recordId } : { product_id: d.recordId }),
      url: d.hook.destination_url,
      status,
      ok,
      at: new Date().toISOString(),
    };
    if (error !== undefined) record.error = error;
    if (!ok && !this.closed && attempt < this.opts.maxAttempts) {
      const delay = 10 * attempt * (attempt + 1) * this.opts.retryUnitMs;
      record.next_attempt_at = new Date(Date.now() + delay).toISOString();
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!this.closed) this.run(d, attempt + 1);
      }, delay);
      this.timers.add(t);
    }
    this.records.push(record);
  }
}
