/**
 * The webhooks over the control API, as a test of a receiver drives a standalone emulator: configure the
 * endpoint in the settings, send an event now (a good one, a replay, a wrong signature, a stale
 * timestamp) and read the deliveries; each checked with the official SDK's verifier.
 */
import OpenAI, { InvalidWebhookSignatureError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../webhook-receiver.js';
import { createOpenAIEmulator, newWebhookSecret, type OpenAIEmulator, type WebhookEvent, type WebhookSendResult } from './index.js';
import { caught } from './spec-validator.js';

const KEY = 'sk-emulator-key';
const SECRET = newWebhookSecret();

let emu: OpenAIEmulator;
let rx: WebhookReceiver<WebhookEvent>;
beforeEach(async () => {
  emu = createOpenAIEmulator();
  await emu.start();
  rx = await startWebhookReceiver<WebhookEvent>(undefined, '/webhooks/openai');
});
afterEach(async () => {
  await emu.close();
  await rx.close();
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${emu.controlUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

const configure = () => control('PATCH', 'settings', { webhook: { url: rx.url, secret: SECRET, retryBaseMs: 5 } });
const unwrap = (d: ReceivedWebhook<WebhookEvent>, tolerance?: number) =>
  new OpenAI({ apiKey: 'x', webhookSecret: SECRET }).webhooks.unwrap(d.rawBody, d.headers as Record<string, string>, undefined, tolerance);

describe('webhook settings', () => {
  it('PATCH sets the endpoint; GET shows whether a secret is set, never the secret', async () => {
    const r = await configure();
    expect(r.status).toBe(200);
    expect(r.json.webhook).toEqual({ url: rx.url, secretSet: true, maxAttempts: 8, retryBaseMs: 5 });
    const shown = await control('GET', 'settings');
    expect(shown.json.webhook).toEqual(r.json.webhook);
    expect(JSON.stringify(shown.json)).not.toContain(SECRET.slice(6));
    const off = await control('PATCH', 'settings', { webhook: { url: null } });
    expect(off.json.webhook).toEqual({ url: null, secretSet: true, maxAttempts: 8, retryBaseMs: 5 });
  });

  it.each([
    [{ webhook: { url: 'http://127.0.0.1:9/h' } }, 'webhook.secret', /webhook\.secret is required with webhook\.url/],
    [{ webhook: { url: 'http://127.0.0.1:9/h', secret: 'secret' } }, 'webhook.secret', /must start with 'whsec_'/],
    [{ webhook: { url: 'mailto:a@b.c', secret: 'whsec_AAAA' } }, 'webhook.url', /webhook\.url must be an http\(s\) URL/],
    [{ webhook: { maxAttempts: 0 } }, 'webhook.maxAttempts', /from 1 to 100/],
    [{ webhook: { retryDelay: 1 } }, 'webhook.retryDelay', /Unknown webhook setting "retryDelay"/],
    [{ webhook: 'on' }, 'webhook', /webhook must be an object/],
  ])('bad webhook settings %j -> 400 naming %s; nothing changes', async (patch, param, message) => {
    const before = (await control('GET', 'settings')).json;
    const r = await control('PATCH', 'settings', { latencyMs: 99, ...patch });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_settings', param });
    expect(r.json.error.message).toMatch(message);
    expect((await control('GET', 'settings')).json).toEqual(before);
  });
});

describe('POST /__emulator/webhooks/send', () => {
  it('sends an event now, answering with the event, its webhook-id and the first attempt', async () => {
    await configure();
    const r = await control('POST', 'webhooks/send', { type: 'batch.failed', data: { id: 'batch_abc' }, eventId: 'evt_given', createdAt: 1_700_000_000 });
    expect(r.status).toBe(201);
    const sent = r.json as WebhookSendResult;
    expect(sent.event).toEqual({ id: 'evt_given', object: 'event', type: 'batch.failed', created_at: 1_700_000_000, data: { id: 'batch_abc' } });
    expect(sent.delivery).toMatchObject({ webhookId: sent.webhookId, eventId: 'evt_given', attempt: 1, status: 200, ok: true, manual: true });
    const [d] = await rx.waitFor(1);
    expect(d!.headers['webhook-id']).toBe(sent.webhookId);
    expect(await unwrap(d!)).toEqual(sent.event);
    // defaults: batch.completed for a made-up batch, now
    const plain = (await control('POST', 'webhooks/send')).json as WebhookSendResult;
    expect(plain.event).toMatchObject({ type: 'batch.completed', data: { id: expect.stringMatching(/^batch_[0-9a-f]{32}$/) } });
    expect(Math.abs(plain.event.created_at - Date.now() / 1000)).toBeLessThan(5);
    expect((await control('GET', 'webhooks')).json.deliveries).toHaveLength(2);
    expect(emu.counters).toMatchObject({ webhookAttempts: 2, webhooksDelivered: 2 });
  });

  it('a replay sends the captured request again: same webhook-id, timestamp, signature and body', async () => {
    await configure();
    const first = (await control('POST', 'webhooks/send', { data: { id: 'batch_r' } })).json as WebhookSendResult;
    const replay = await control('POST', 'webhooks/send', { replayOf: first.webhookId });
    expect(replay.status).toBe(201);
    const [a, b] = await rx.waitFor(2);
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) expect(b!.headers[h]).toBe(a!.headers[h]);
    expect(b!.rawBody).toBe(a!.rawBody);
    // still validly signed: only the webhook-id tells a receiver it has seen it
    expect(await unwrap(b!)).toEqual(first.event);
    // a redelivery with a new timestamp is signed afresh
    const later = Math.floor(Date.now() / 1000) + 1;
    await control('POST', 'webhooks/send', { replayOf: first.webhookId, timestamp: later });
    const [, , c] = await rx.waitFor(3);
    expect(c!.headers['webhook-timestamp']).toBe(String(later));
    expect(c!.headers['webhook-signature']).not.toBe(a!.headers['webhook-signature']);
    expect(await unwrap(c!)).toEqual(first.event);
  });

  it('a wrong secret or a stale timestamp makes a delivery the SDK refuses', async () => {
    await configure();
    await control('POST', 'webhooks/send', { secret: newWebhookSecret() });
    const stale = Math.floor(Date.now() / 1000) - 600;
    await control('POST', 'webhooks/send', { timestamp: stale });
    const [wrong, old] = await rx.waitFor(2);
    const e1 = await caught(unwrap(wrong!));
    expect(e1).toBeInstanceOf(InvalidWebhookSignatureError);
    expect(e1.message).toBe('The given webhook signature does not match the expected signature');
    expect(old!.headers['webhook-timestamp']).toBe(String(stale));
    const e2 = await caught(unwrap(old!));
    expect(e2).toBeInstanceOf(InvalidWebhookSignatureError);
    expect(e2.message).toBe('Webhook timestamp is too old');
    // the stale one is otherwise correctly signed: a wider tolerance accepts it
    expect((await unwrap(old!, 3600)).type).toBe('batch.completed');
  });

  it('no retry unless asked; with retry: true it retries like a batch event', async () => {
    await rx.close();
    rx = await startWebhookReceiver<WebhookEvent>((n) => (n <= 2 ? 503 : 200), '/webhooks/openai');
    await configure();
    const once = (await control('POST', 'webhooks/send')).json as WebhookSendResult;
    expect(once.delivery).toMatchObject({ status: 503, ok: false });
    expect(once.delivery.nextAttemptAt).toBeUndefined();
    const retried = (await control('POST', 'webhooks/send', { retry: true })).json as WebhookSendResult;
    expect(retried.delivery.nextAttemptAt).toBeDefined();
    await rx.waitFor(3);
    await emu.webhooks.flush();
    const attempts = (await control('GET', 'webhooks')).json.deliveries.filter((d: { webhookId: string }) => d.webhookId === retried.webhookId);
    expect(attempts.map((d: { attempt: number; status: number }) => [d.attempt, d.status])).toEqual([[1, 503], [2, 200]]);
    expect(emu.counters).toMatchObject({ webhookAttempts: 3, webhooksDelivered: 1, webhooksFailed: 1 });
  });

  it.each([
    [{ type: 'batch.done' }, 'type', /type must be one of batch\.completed/],
    [{ replayOf: 'wh_nope' }, 'replayOf', /No delivery with webhook-id 'wh_nope' to replay/],
    [{ replayOf: 'wh_x', type: 'batch.completed' }, 'replayOf', /leave out type, data, eventId and createdAt/],
    [{ secret: 'sk-123' }, 'secret', /must start with 'whsec_'/],
    [{ timestamp: 'now' }, 'timestamp', /unix seconds/],
    [{ signWith: 'wrong' }, 'signWith', /Unknown field "signWith"/],
  ])('bad send %j -> 400 naming %s', async (body, param, message) => {
    await configure();
    const r = await control('POST', 'webhooks/send', body);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_webhook_send', param });
    expect(r.json.error.message).toMatch(message);
    expect(rx.received).toHaveLength(0);
  });

  it('without a configured endpoint it needs a url and a secret; it is listed and takes the key', async () => {
    const noUrl = await control('POST', 'webhooks/send');
    expect(noUrl.status).toBe(400);
    expect(noUrl.json.error).toMatchObject({ param: 'url', message: expect.stringMatching(/No webhook URL is configured/) });
    const noSecret = await control('POST', 'webhooks/send', { url: rx.url });
    expect(noSecret.json.error).toMatchObject({ param: 'secret' });
    const direct = await control('POST', 'webhooks/send', { url: rx.url, secret: SECRET });
    expect(direct.status).toBe(201);
    expect((await unwrap((await rx.waitFor(1))[0]!)).id).toBe(direct.json.event.id);
    expect((await control('GET', '')).json.endpoints).toEqual(expect.arrayContaining(['GET /__emulator/webhooks', 'POST /__emulator/webhooks/send']));
    const anon = await fetch(`${emu.controlUrl}webhooks/send`, { method: 'POST' });
    expect(anon.status).toBe(401);
  });
});
