/**
 * Small helpers for tests that drive the emulator over real HTTP: a JSON client and a
 * webhook receiver that records every delivery (raw body included, for HMAC checks).
 */
import {
  startWebhookReceiver as startGenericReceiver,
  type ReceivedWebhook as GenericReceived,
  type WebhookReceiver as GenericReceiver,
} from '../webhook-receiver.js';
import type { IpaasWebhookPayload } from './types.js';

export interface CallResult<T> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  /** Sent verbatim with Content-Type application/json (for malformed JSON tests). */
  rawBody?: string;
  /** Bearer token; null sends no Authorization header. Default 'ipaas-emulator-key'. */
  token?: string | null;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function call<T = any>(base: string, method: string, path: string, opts: CallOptions = {}): Promise<CallResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  const token = opts.token === undefined ? 'ipaas-emulator-key' : opts.token;
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = body;
  if (opts.signal) init.signal = opts.signal;
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

export type ReceivedWebhook = GenericReceived<IpaasWebhookPayload>;
export type WebhookReceiver = GenericReceiver<IpaasWebhookPayload>;

/** `respond(n)` gives the HTTP status for the n-th (1-based) delivery (may be async); default always 200. */
export function startWebhookReceiver(respond?: (n: number) => number | Promise<number>): Promise<WebhookReceiver> {
  return startGenericReceiver<IpaasWebhookPayload>(respond, '/webhooks/ipaas');
}
