/**
 * OpenAI's webhooks over real HTTP: the OpenAI emulator signs and sends them (Standard Webhooks) to
 * `serve`, which verifies them with the SDK, stores each as a Message and applies an ended batch at once.
 * Batches are polled only once an hour here, so an applied batch can only be the webhook's doing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { newWebhookSecret, signWebhook } from '../emulators/openai/index.js';
import { startWebhookReceiver, type WebhookReceiver } from '../emulators/webhook-receiver.js';
import type { SyncDeps } from '../src/app/sync-deps.js';
import { createOpenAIClient } from '../src/openai/openai-client.js';
import { runBulk, type BulkSummary } from '../src/triggers/bulk/run-bulk.js';
import { runCli } from './helpers/cli.js';
import { startServiceHarness, waitFor, type ServiceHarness } from './helpers/service-harness.js';

const N = 30;
const HOUR = 3_600_000;
const SECRET = newWebhookSecret();

let h: ServiceHarness | undefined;
let rx: WebhookReceiver | undefined;
/** A backfill a failed test left running is stopped before its store closes. */
let backfills: Array<{ abort: AbortController; done: Promise<unknown> }> = [];
afterEach(async () => {
  for (const b of backfills) b.abort.abort();
  await Promise.allSettled(backfills.map((b) => b.done));
  backfills = [];
  await h?.close();
  await rx?.close();
  h = rx = undefined;
});

async function start(env: Record<string, string> = { OPENAI_WEBHOOK_SECRET: SECRET }, batch: Record<string, number> = { pollMinMs: HOUR, pollMaxMs: HOUR }) {
  h = await startServiceHarness({
    webhooks: false,
    env,
    ipaas: { customers: syntheticCustomers(N) },
    openai: { batch: { validatingMs: 20, msPerLine: 0, finalizingMs: 20, cancellingMs: 20 } },
    config: { batch: { ...batch, webhookPollMs: HOUR } },
  });
  return { h, em: h.emulators.openai.emulator };
}

/** Where the emulator sends its webhooks (serve itself, or a receiver that keeps them for the test). */
const sendWebhooksTo = (hh: ServiceHarness, url: string) => hh.emulators.openai.emulator.updateSettings({ webhook: { url, secret: SECRET, retryBaseMs: 5, maxAttempts: 3 } });
const serveUrl = (hh: ServiceHarness) => `${hh.service.url}/webhooks/openai`;

/**
 * `sync --all --batch`, which must finish within `ms` although it polls only once an hour. It runs on
 * serve's own store connection: two SQLite connections in one process would wait on each other's
 * write lock for the busy timeout (node:sqlite waits synchronously), which separate processes do not.
 */
async function backfill(hh: ServiceHarness, ms = 30_000, deps: SyncDeps = hh.service.ctx.deps): Promise<BulkSummary> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ms);
  const done = runBulk(deps, { params: { mode: 'batch' }, signal: abort.signal }).finally(() => clearTimeout(timer));
  backfills.push({ abort, done });
  const r = await done;
  if (!r.finished) throw new Error(`The batch was not applied within ${ms} ms; it is polled once an hour, so only the webhook could have applied it.`);
  return r;
}

/** A delivery signed as OpenAI signs it, POSTed straight to serve. */
async function post(hh: ServiceHarness, d: { webhookId: string; body: string; timestamp?: number; secret?: string; headers?: Record<string, string> }) {
  const timestamp = d.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(serveUrl(hh), {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': d.webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(d.secret ?? SECRET, d.webhookId, timestamp, d.body),
      ...d.headers,
    },
    body: d.body,
  });
  return { status: res.status, body: (await res.json()) as any };
}

const event = (type: string, id: string) => JSON.stringify({ id: `evt_${id}`, object: 'event', type, created_at: Math.floor(Date.now() / 1000), data: { id } });
const messages = async (hh: ServiceHarness, query = '') => (await hh.api('GET', `/api/messages${query}`)).body;
const actedOn = (hh: ServiceHarness, webhookId: string) =>
  waitFor(async () => (await hh.connector.store.messages.get(webhookId))?.outcome !== 'received', 10_000, `the Message of ${webhookId} to be acted on`);
const syncedPerCustomer = async (hh: ServiceHarness) => {
  const counts = new Map<string, number>();
  for (const a of await hh.connector.store.log.list({ outcome: 'synced', limit: 10 * N })) counts.set(a.customerNumber!, (counts.get(a.customerNumber!) ?? 0) + 1);
  return counts;
};

describe('OpenAI webhooks (POST /webhooks/openai)', () => {
  it('a valid signed batch.completed applies the batch with no poll in between; its replay is ignored; the Message is listed (API and logs --messages)', async () => {
    const { h, em } = await start();
    sendWebhooksTo(h, serveUrl(h));
    const r = await backfill(h);
    expect(r.counts).toMatchObject({ written: N, failed: 0, batched: 0 });
    const [batch] = await h.connector.store.runs.batches(r.runId);
    // One look at the batch: the webhook's, for its output file. A poll would have been a second.
    expect(em.counters.byPath[`/v1/batches/${batch!.id}`]).toBe(1);
    expect(em.counters.completions).toBe(0);
    const [first] = em.webhooks.deliveries();
    expect(first).toMatchObject({ type: 'batch.completed', status: 200, ok: true });
    const listed = await messages(h);
    expect(listed).toMatchObject({ total: 1, messages: [{ id: `batch.completed:${batch!.id}`, webhookId: first!.webhookId, eventType: 'batch.completed', sourceId: batch!.id, outcome: 'applied', lines: N, replays: 0 }] });
    expect(listed.messages[0].detail).toMatch(new RegExp(`^Applied ${N} lines of batch ${batch!.id}: ${N} answered`));
    expect(JSON.parse(listed.messages[0].body)).toMatchObject({ type: 'batch.completed', data: { id: batch!.id } });

    // OpenAI delivers the same webhook-id again: acknowledged (so it stops), not acted on again.
    const replay = await em.webhooks.send({ replayOf: first!.webhookId });
    expect(replay.delivery).toMatchObject({ webhookId: first!.webhookId, status: 200, ok: true });
    await sleep(300);
    expect(await messages(h)).toMatchObject({ total: 1, messages: [{ outcome: 'applied', lines: N, replays: 1 }] });
    expect(em.counters.byPath[`/v1/batches/${batch!.id}`]).toBe(1);
    expect([...(await syncedPerCustomer(h)).values()]).toEqual(Array(N).fill(1));

    const cli = await runCli(['logs', '--messages'], { cwd: h.dir, env: h.env });
    expect(cli).toMatchObject({ code: 0, stderr: '' });
    expect(cli.stdout).toContain(`1 of 1 Message (webhooks from OpenAI, newest first):`);
    expect(cli.stdout).toContain(`batch.completed:${batch!.id} APPLIED ${N} lines (1 replay ignored`);

    // The signing secret is nowhere: not in the database (nor its WAL), the API's answers or the configuration.
    const stored = ['', '-wal'].map((x) => (existsSync(`${h.env.IPAAS_OPENAI_DB}${x}`) ? readFileSync(`${h.env.IPAAS_OPENAI_DB}${x}`, 'latin1') : '')).join('');
    const shown = JSON.stringify([await messages(h), (await h.api('GET', '/api/config')).body]);
    for (const s of [SECRET, SECRET.slice('whsec_'.length)]) expect(stored.includes(s) || shown.includes(s)).toBe(false);
  });

  it('batch.expired sends the lines the configured fallback way at once (here: direct calls)', async () => {
    const { h, em } = await start();
    sendWebhooksTo(h, serveUrl(h));
    em.batchControl.pauseNew(true); // held at OpenAI until it expires
    const bulk = backfill(h);
    let batchId = '';
    await waitFor(async () => !!(batchId = (await h.connector.store.runs.openBatches())[0]?.id ?? ''), 20_000, 'the batch to be submitted');
    em.batchControl.expireNow(batchId);
    const r = await bulk;
    expect(r.counts).toMatchObject({ written: N, failed: 0, batched: 0 });
    expect(em.counters.completions).toBe(N);
    expect(em.webhooks.deliveries()).toMatchObject([{ type: 'batch.expired', status: 200 }]);
    const [m] = (await messages(h)).messages;
    expect(m).toMatchObject({ id: `batch.expired:${batchId}`, outcome: 'fallback', lines: N });
    expect(m.detail).toBe(`The batch ended expired; settled ${N} lines of batch ${batchId}: 0 answered (the workers write them back), ${N} sent as direct calls (batch.onLineFailure: direct).`);
    const job = (await h.connector.store.queue.list({ limit: 1 }))[0]!;
    expect(job.trigger).toEqual({ source: 'batch', fallback: true });
  });

  it('a wrong signature, a timestamp outside 300 s and missing headers get 400 and change nothing', async () => {
    const { h, em } = await start();
    sendWebhooksTo(h, serveUrl(h));
    const wrong = await em.webhooks.send({ type: 'batch.completed', data: { id: 'batch_abc' }, secret: newWebhookSecret() });
    expect(wrong.delivery.status).toBe(400);
    const stale = await em.webhooks.send({ type: 'batch.completed', data: { id: 'batch_abc' }, timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.delivery.status).toBe(400);
    const future = await em.webhooks.send({ type: 'batch.completed', data: { id: 'batch_abc' }, timestamp: Math.floor(Date.now() / 1000) + 400 });
    expect(future.delivery.status).toBe(400);

    const forged = await post(h, { webhookId: 'wh_forged', body: event('batch.completed', 'batch_abc'), secret: newWebhookSecret() });
    expect(forged).toMatchObject({ status: 400, body: { error: { message: /refused: The given webhook signature does not match/, fix: /OPENAI_WEBHOOK_SECRET/ } } });
    const old = await post(h, { webhookId: 'wh_old', body: event('batch.completed', 'batch_abc'), timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(old).toMatchObject({ status: 400, body: { error: { message: /timestamp is too old/, fix: /300 s/ } } });
    const unsigned = await fetch(serveUrl(h), { method: 'POST', headers: { 'content-type': 'application/json' }, body: event('batch.completed', 'batch_abc') });
    expect(unsigned.status).toBe(400);
    expect(((await unsigned.json()) as any).error.message).toMatch(/Missing required header: webhook-/);
    // A body changed after signing does not verify either.
    const body = event('batch.completed', 'batch_abc');
    const ts = Math.floor(Date.now() / 1000);
    const tampered = await post(h, { webhookId: 'wh_t', body: body.replace('batch_abc', 'batch_xyz'), timestamp: ts, headers: { 'webhook-signature': signWebhook(SECRET, 'wh_t', ts, body) } });
    expect(tampered.status).toBe(400);

    await sleep(200);
    expect(await messages(h)).toMatchObject({ total: 0, messages: [] });
    expect(em.counters.byPath['/v1/batches/batch_abc']).toBeUndefined();
  });

  it('an event for a batch the store does not know gets 200 and is recorded as such; other events are recorded and left alone', async () => {
    const { h } = await start();
    sendWebhooksTo(h, serveUrl(h));
    const sent = await h.emulators.openai.emulator.webhooks.send({ type: 'batch.completed', data: { id: 'batch_unknown0001' } });
    expect(sent.delivery.status).toBe(200);
    await actedOn(h, sent.webhookId);
    const resp = await post(h, { webhookId: 'wh_resp', body: event('response.completed', 'resp_1') });
    expect(resp).toMatchObject({ status: 200, body: { messageId: 'response.completed:resp_1', replay: false, outcome: 'received' } });
    await actedOn(h, 'wh_resp');
    const listed = await messages(h);
    expect(listed.messages).toMatchObject([
      { id: 'response.completed:resp_1', outcome: 'ignored', detail: /starts no background responses/ },
      { id: 'batch.completed:batch_unknown0001', webhookId: sent.webhookId, outcome: 'unknown-batch', lines: null, detail: /No batch batch_unknown0001 in this connector's store/ },
    ]);
    expect((await messages(h, '?outcome=unknown-batch')).total).toBe(1);
    expect((await h.api('GET', '/api/messages?outcome=nonsense')).status).toBe(400);
  });

  it('without a signing secret the route answers 503 naming OPENAI_WEBHOOK_SECRET, and stores nothing', async () => {
    const { h } = await start({});
    const r = await post(h, { webhookId: 'wh_1', body: event('batch.completed', 'batch_abc') });
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ message: /no signing secret is configured/, fix: /Set OPENAI_WEBHOOK_SECRET \(or openai\.webhookSecret\)/ });
    expect(await messages(h)).toMatchObject({ total: 0 });
    const config = (await h.api('GET', '/api/config')).body;
    expect(config.server.openaiWebhooks).toBe('disabled (no OPENAI_WEBHOOK_SECRET)');
  });

  it('a batch whose create answer never reached the store (D1) is adopted by its metadata when its webhook arrives, and applied', async () => {
    // Short waits after errors, but a poll at most hourly: only the webhook can adopt and apply the batch.
    const { h, em } = await start(undefined, { pollMinMs: 20, pollMaxMs: 200 });
    sendWebhooksTo(h, serveUrl(h));
    let loseCreate = true;
    // The backfill never hears of the batch it created, and cannot list batches to find it itself.
    const openai = createOpenAIClient(h.loaded.config.openai, {
      fetch: async (input, init) => {
        const url = new URL(String(input instanceof Request ? input.url : input)).pathname;
        const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
        if (url.endsWith('/batches') && method === 'GET') throw new TypeError('fetch failed (emulated network loss)');
        const res = await fetch(input, init);
        if (url.endsWith('/batches') && method === 'POST' && loseCreate) {
          loseCreate = false;
          await res.arrayBuffer();
          throw new TypeError('fetch failed (the answer was lost after OpenAI created the batch)');
        }
        return res;
      },
    });
    const r = await backfill(h, 30_000, { ...h.service.ctx.deps, openai });
    expect(r.counts).toMatchObject({ written: N, failed: 0, batched: 0 });
    expect(em.counters.batchesCreated).toBe(1);
    expect(em.counters.completions).toBe(0);
    const [batch] = await h.connector.store.runs.batches(r.runId);
    expect(batch).toMatchObject({ id: expect.stringMatching(/^batch_/), applied: true });
    // With webhooks on, polling is the slow safety net: batch.webhookPollMs (an hour here), not pollMaxMs (200 ms).
    expect(batch!.nextPollAt - Date.now()).toBeGreaterThan(HOUR / 2);
    expect(em.counters.byPath[`/v1/batches/${batch!.id}`]).toBe(1);
    expect(await messages(h)).toMatchObject({ total: 1, messages: [{ id: `batch.completed:${batch!.id}`, outcome: 'applied', lines: N }] });
  });

  it('two deliveries of one webhook-id at once: stored once, the batch applied once', async () => {
    const { h, em } = await start();
    rx = await startWebhookReceiver(undefined, '/webhooks/openai');
    sendWebhooksTo(h, rx.url); // OpenAI's signed delivery is caught, then sent to serve twice at once
    const bulk = backfill(h);
    const [d] = await rx.waitFor(1, 20_000);
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((k) => [k, String(d!.headers[k])]));
    const twice = await Promise.all([0, 1].map(() => fetch(serveUrl(h), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: d!.rawBody }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }))));
    expect(twice.map((t) => t.status)).toEqual([200, 200]);
    expect(twice.map((t) => t.body.replay).sort()).toEqual([false, true]);
    const r = await bulk;
    expect(r.counts).toMatchObject({ written: N, failed: 0 });
    expect(await messages(h)).toMatchObject({ total: 1, messages: [{ webhookId: headers['webhook-id'], outcome: 'applied', lines: N, replays: 1 }] });
    expect([...(await syncedPerCustomer(h)).values()]).toEqual(Array(N).fill(1));
    expect(em.counters.byPath[`/v1/batches/${(d!.body as { data: { id: string } }).data.id}`]).toBe(1);
  });

  it('two different deliveries for one batch at once: one applies it, the other finds it applied; no line is applied twice', async () => {
    const { h, em } = await start();
    rx = await startWebhookReceiver(undefined, '/webhooks/openai');
    sendWebhooksTo(h, rx.url);
    const bulk = backfill(h);
    const [d] = await rx.waitFor(1, 20_000);
    const batchId = (d!.body as { data: { id: string } }).data.id;
    const sent = await Promise.all([0, 1].map(() => em.webhooks.send({ type: 'batch.completed', data: { id: batchId }, url: serveUrl(h) })));
    expect(sent.map((s) => s.delivery.status)).toEqual([200, 200]);
    const r = await bulk;
    expect(r.counts).toMatchObject({ written: N, failed: 0 });
    for (const s of sent) await actedOn(h, s.webhookId);
    const listed = (await messages(h)).messages as Array<{ id: string; outcome: string; lines: number | null }>;
    expect(listed.map((m) => m.id)).toEqual([`batch.completed:${batchId}`, `batch.completed:${batchId}`]);
    expect(listed.map((m) => `${m.outcome} ${m.lines}`).sort()).toEqual(['already-applied null', `applied ${N}`]);
    expect([...(await syncedPerCustomer(h)).values()]).toEqual(Array(N).fill(1));
    expect(h.emulators.ipaas.emulator.counters.customerWrites).toBe(N);
  });
});
