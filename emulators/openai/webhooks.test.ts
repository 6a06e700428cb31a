/**
 * The webhooks the OpenAI emulator sends, over real HTTP, each checked with the official SDK's verifier
 * (client.webhooks.unwrap), so a signature the emulator gets wrong fails here and not in production.
 */
import OpenAI, { InvalidWebhookSignatureError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../webhook-receiver.js';
import { createOpenAIEmulator, newWebhookSecret, signWebhook, type OpenAIEmulator, type OpenAIEmulatorOptions, type WebhookEvent } from './index.js';
import { caught } from './spec-validator.js';

const KEY = 'sk-emulator-key';
const SECRET = newWebhookSecret();
const FAST_BATCH = { validatingMs: 5, msPerLine: 0, finalizingMs: 5, cancellingMs: 5 };

let emu: OpenAIEmulator;
let client: OpenAI;
const receivers: WebhookReceiver<WebhookEvent>[] = [];
afterEach(async () => {
  await emu.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(respond?: (n: number) => number) {
  const r = await startWebhookReceiver<WebhookEvent>(respond, '/webhooks/openai');
  receivers.push(r);
  return r;
}

async function setup(opts: OpenAIEmulatorOptions = {}) {
  emu = createOpenAIEmulator({ batch: FAST_BATCH, ...opts });
  client = new OpenAI({ apiKey: KEY, baseURL: await emu.start(), maxRetries: 0 });
}

/** What a receiver built on the SDK does with a delivery. */
const unwrap = (d: ReceivedWebhook<WebhookEvent>, secret = SECRET) =>
  new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(d.rawBody, d.headers as Record<string, string>);

async function batchOf(lines: number) {
  const jsonl = Array.from({ length: lines }, (_, i) =>
    JSON.stringify({ custom_id: `c${i}`, method: 'POST', url: '/v1/responses', body: { model: 'gpt-5-nano', input: `hello ${i}` } }),
  ).join('\n');
  const file = await client.files.create({ file: new File([jsonl], 'in.jsonl'), purpose: 'batch' });
  return client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
}

async function waitForStatus(id: string, statuses: string[]) {
  for (let i = 0; i < 200; i++) {
    const b = await client.batches.retrieve(id);
    if (statuses.includes(b.status)) return b;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`batch ${id} never reached ${statuses.join('/')}`);
}

describe('batch events', () => {
  it('a completed batch POSTs batch.completed, signed so the SDK verifies it', async () => {
    const rx = await receiver();
    await setup({ webhook: { url: rx.url, secret: SECRET } });
    const created = await batchOf(2);
    const done = await waitForStatus(created.id, ['completed']);
    const [d] = await rx.waitFor(1);
    expect(d!.path).toBe('/webhooks/openai');
    expect(JSON.parse(d!.rawBody)).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      object: 'event',
      type: 'batch.completed',
      created_at: done.completed_at,
      data: { id: created.id },
    });
    expect(Object.keys(JSON.parse(d!.rawBody))).toEqual(['id', 'object', 'type', 'created_at', 'data']);
    expect(d!.headers['content-type']).toBe('application/json');
    expect(d!.headers['user-agent']).toBe('OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)');
    expect(d!.headers['webhook-id']).toMatch(/^wh_[0-9a-f]{32}$/);
    const ts = Number(d!.headers['webhook-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    expect(d!.headers['webhook-signature']).toBe(signWebhook(SECRET, String(d!.headers['webhook-id']), ts, d!.rawBody));
    const event = await unwrap(d!);
    expect(event).toMatchObject({ type: 'batch.completed', data: { id: created.id } });
    // a receiver with another secret refuses it
    expect(await caught(unwrap(d!, newWebhookSecret()))).toBeInstanceOf(InvalidWebhookSignatureError);

    await emu.webhooks.flush();
    expect(emu.webhooks.deliveries()).toEqual([
      expect.objectContaining({ webhookId: d!.headers['webhook-id'], eventId: event.id, type: 'batch.completed', attempt: 1, status: 200, ok: true, manual: false, url: rx.url }),
    ]);
    expect(emu.counters).toMatchObject({ webhookAttempts: 1, webhooksDelivered: 1, webhooksFailed: 0 });
  });

  it('failed, cancelled and expired batches send batch.failed, batch.cancelled and batch.expired', async () => {
    const rx = await receiver();
    await setup({ webhook: { url: rx.url, secret: SECRET } });
    emu.batchControl.failNext('injected');
    const failed = await batchOf(1);
    emu.batchControl.pauseNew(true);
    const cancelled = await batchOf(1);
    const expired = await batchOf(1);
    await client.batches.cancel(cancelled.id);
    emu.batchControl.expireNow(expired.id);
    const got = await rx.waitFor(3);
    const events = await Promise.all(got.map((d) => unwrap(d)));
    const byBatch = Object.fromEntries(events.map((e) => [(e.data as { id: string }).id, e.type]));
    expect(byBatch).toEqual({ [failed.id]: 'batch.failed', [cancelled.id]: 'batch.cancelled', [expired.id]: 'batch.expired' });
    const expiredNow = await client.batches.retrieve(expired.id);
    expect(events.find((e) => e.type === 'batch.expired')?.created_at).toBe(expiredNow.expired_at);
  });

  it('without a configured endpoint nothing is sent', async () => {
    await setup();
    const b = await batchOf(1);
    await waitForStatus(b.id, ['completed']);
    await emu.webhooks.flush();
    expect(emu.webhooks.deliveries()).toEqual([]);
    expect(emu.counters.webhookAttempts).toBe(0);
  });
});

describe('retries', () => {
  it('retries with doubling waits until a 2xx: same webhook-id and body, each attempt signed afresh', async () => {
    const base = 40;
    const rx = await receiver((n) => (n <= 2 ? 500 : 204));
    await setup({ webhook: { url: rx.url, secret: SECRET, retryBaseMs: base } });
    const b = await batchOf(1);
    const got = await rx.waitFor(3);
    expect(new Set(got.map((d) => d.headers['webhook-id'])).size).toBe(1);
    expect(new Set(got.map((d) => d.rawBody)).size).toBe(1);
    for (const d of got) expect((await unwrap(d)).data).toEqual({ id: b.id });
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(base - 2);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(2 * base - 2);
    await emu.webhooks.flush();
    const records = emu.webhooks.deliveries();
    expect(records.map((r) => [r.attempt, r.status, r.ok])).toEqual([[1, 500, false], [2, 500, false], [3, 204, true]]);
    expect(records[0]!.error).toBe('Receiver answered HTTP 500.');
    expect(records[0]!.nextAttemptAt).toBeDefined();
    expect(records[2]!.nextAttemptAt).toBeUndefined();
    expect(emu.counters).toMatchObject({ webhookAttempts: 3, webhooksDelivered: 1, webhooksFailed: 0 });
  });

  it('gives up after maxAttempts; a redirect or an unreachable receiver is a failure too', async () => {
    const rx = await receiver(() => 302);
    await setup({ webhook: { url: rx.url, secret: SECRET, retryBaseMs: 1, maxAttempts: 2 } });
    await batchOf(1);
    await rx.waitFor(2);
    await new Promise((r) => setTimeout(r, 50));
    await emu.webhooks.flush();
    expect(rx.received).toHaveLength(2);
    expect(emu.counters).toMatchObject({ webhookAttempts: 2, webhooksDelivered: 0, webhooksFailed: 1 });

    emu.updateSettings({ webhook: { url: 'http://127.0.0.1:1/unreachable', maxAttempts: 1 } });
    const sent = await emu.webhooks.send({ retry: true });
    expect(sent.delivery).toMatchObject({ status: null, ok: false, url: 'http://127.0.0.1:1/unreachable' });
    expect(sent.delivery.error).toEqual(expect.any(String));
    expect(emu.counters.webhooksFailed).toBe(2);
  });

  it('close() cancels scheduled retries', async () => {
    const rx = await receiver(() => 500);
    await setup({ webhook: { url: rx.url, secret: SECRET, retryBaseMs: 100 } });
    await batchOf(1);
    await rx.waitFor(1);
    await emu.webhooks.flush();
    await emu.close();
    await new Promise((r) => setTimeout(r, 250));
    expect(rx.received).toHaveLength(1);
  });
});

describe('configuration', () => {
  it('bad options throw at creation, naming the option', () => {
    expect(() => createOpenAIEmulator({ webhook: { url: 'ftp://x', secret: SECRET } })).toThrow(/webhook\.url must be an http\(s\) URL/);
    expect(() => createOpenAIEmulator({ webhook: { url: 'http://127.0.0.1:9/h' } })).toThrow(/webhook\.secret is required with webhook\.url/);
    expect(() => createOpenAIEmulator({ webhook: { url: 'http://127.0.0.1:9/h', secret: 'sk-not-a-webhook-secret' } })).toThrow(/must start with 'whsec_'/);
    expect(() => createOpenAIEmulator({ webhook: { url: 'http://127.0.0.1:9/h', secret: 'whsec_***' } })).toThrow(/must be base64/);
  });
});
