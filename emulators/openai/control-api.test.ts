/**
 * The OpenAI emulator's control API (/__emulator/) over real HTTP: auth, counters, faults (which
 * must act exactly like injectFault()), the 'hang' fault with client aborts, live settings, and the
 * batchCreate 'lost' setting (a batch created whose answer never comes).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH_DEFAULTS, BATCH_FAST, createOpenAIEmulator, type OpenAICounters, type OpenAIEmulator, type OpenAIFault } from './index.js';

const KEY = 'sk-emulator-key';
const ENRICH = {
  type: 'json_schema',
  name: 'enrichment',
  strict: true,
  schema: {
    type: 'object',
    properties: { KnownToFilm: { type: 'string', enum: ['TRUE', 'FALSE'] }, Comment: { type: 'string' } },
    required: ['KnownToFilm', 'Comment'],
    additionalProperties: false,
  },
};
const body = (customer: string) => ({ model: 'gpt-4o-mini', input: JSON.stringify({ CustomerNumber: customer, FirstName: 'Ada' }), text: { format: ENRICH } });

let emu: OpenAIEmulator;
let api: string;
let ctl: string;
beforeEach(async () => {
  emu = createOpenAIEmulator();
  api = await emu.start({ host: '127.0.0.1', port: 0 });
  ctl = emu.controlUrl!;
});
afterEach(async () => emu.close());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}
async function send(url: string, method: string, payload?: unknown, key: string | null = KEY, signal?: AbortSignal): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const init: RequestInit = { method, headers };
  if (payload !== undefined) init.body = JSON.stringify(payload);
  if (signal) init.signal = signal;
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
const control = (method: string, path: string, payload?: unknown, key: string | null = KEY) => send(`${ctl}${path}`, method, payload, key);
const complete = (customer = 'CUST-1', signal?: AbortSignal) => send(`${api}/responses`, 'POST', body(customer), KEY, signal);

/** What a client sees of an answer, minus what differs on every call (ids, timestamps, processing time). */
const outcome = (a: Answer) => ({
  status: a.status,
  retryAfter: a.headers.get('retry-after'),
  retryAfterMs: a.headers.get('retry-after-ms'),
  body: a.text
    .replace(/(resp|msg|rs)_[0-9a-f]{24,}/g, '$1_ID')
    .replace(/"(created_at|completed_at)":\d+/g, '"$1":0'),
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('control API: auth and discovery', () => {
  it('refuses a missing or wrong key with OpenAI 401 bodies and counts nothing', async () => {
    const none = await control('GET', 'counters', undefined, null);
    expect(none.status).toBe(401);
    expect(none.json.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining("You didn't provide an API key") });
    const wrong = await control('POST', 'faults', { kind: 'hang' }, 'sk-wrong-key-1234');
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toMatchObject({ code: 'invalid_api_key' });
    for (const [method, path] of [['DELETE', 'faults'], ['PATCH', 'settings'], ['POST', 'counters/reset'], ['GET', '']] as const) {
      expect((await control(method, path, method === 'PATCH' ? {} : undefined, 'sk-wrong-key-1234')).status, `${method} ${path}`).toBe(401);
    }
    expect(emu.pendingFaults()).toEqual([]);
    expect(emu.counters.requests).toBe(0);
    expect(emu.requests()).toEqual([]);
  });

  it('lives beside /v1, lists its endpoints; unknown control paths are a 404 in the error shape', async () => {
    expect(ctl).toBe(api.replace(/\/v1$/, '/__emulator/'));
    expect((await control('GET', '')).json).toEqual({ emulator: 'openai', endpoints: expect.arrayContaining(['PATCH /__emulator/settings']) });
    const missing = await control('GET', 'nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toBe('Invalid URL (GET /__emulator/nope)');
    expect(emu.counters.requests).toBe(0);
  });
});

describe('control API: counters', () => {
  it('GET equals the in-process counters and excludes control calls; reset zeroes them', async () => {
    await complete();
    await control('GET', 'counters');
    await send(`${api}/models`, 'GET');
    await control('POST', 'faults', { kind: 'status', status: 500 });
    await complete();
    await control('GET', 'faults');
    await send(`${api}/models`, 'GET', undefined, null);
    await control('POST', 'faults', { kind: 'nope' });
    const r = await control('GET', 'counters');
    expect(r.status).toBe(200);
    expect(r.json).toEqual(emu.counters);
    expect(r.json).toMatchObject({
      requests: 4,
      byPath: { '/v1/responses': 2, '/v1/models': 2 },
      byStatus: { '200': 2, '500': 1, '401': 1 },
      completions: 1,
      hung: 0,
      aborted: 0,
    });
    expect(emu.requests().map((q) => q.path)).toEqual(['/v1/responses', '/v1/models', '/v1/responses', '/v1/models']);
    const reset = await control('POST', 'counters/reset');
    expect(reset.json).toMatchObject({ requests: 0, byPath: {}, byStatus: {}, completions: 0, hung: 0, aborted: 0, inputTokens: 0 });
    expect(emu.counters).toEqual(reset.json as OpenAICounters);
  });
});

describe('the aborted counter', () => {
  it('counts no answered request, over HTTP or app.inject()', async () => {
    await complete();
    await send(`${api}/models`, 'GET', undefined, null);
    await emu.app.inject({ method: 'GET', url: '/v1/models', headers: { authorization: `Bearer ${KEY}` } });
    await new Promise((r) => setTimeout(r, 50));
    expect(emu.counters).toMatchObject({ requests: 3, aborted: 0 });
  });
});

describe('control API: faults', () => {
  it('queues one fault (201), lists remaining counts, and clears the queue', async () => {
    const posted = await control('POST', 'faults', { kind: 'status', status: 503, times: 2, match: 'CUST-7' });
    expect(posted.status).toBe(201);
    expect(posted.json).toEqual({ fault: { kind: 'status', status: 503, times: 2, match: 'CUST-7' }, remaining: 2 });
    await control('POST', 'faults', { kind: 'refusal' });
    expect((await complete('CUST-7')).status).toBe(503);
    expect((await control('GET', 'faults')).json).toEqual({
      faults: [{ fault: posted.json.fault, remaining: 1 }, { fault: { kind: 'refusal' }, remaining: 1 }],
    });
    expect(emu.pendingFaults()).toEqual((await control('GET', 'faults')).json.faults);
    expect((await control('DELETE', 'faults')).json).toEqual({ cleared: 2 });
    expect((await control('GET', 'faults')).json).toEqual({ faults: [] });
    expect((await complete('CUST-7')).json.status).toBe('completed');
  });

  it.each<OpenAIFault>([
    { kind: 'status', status: 500 },
    { kind: 'status', status: 429 },
    { kind: 'status', status: 401 },
    { kind: 'status', status: 503, match: 'CUST-2' },
    { kind: 'insufficient_quota' },
    { kind: 'malformed' },
    { kind: 'refusal' },
    { kind: 'extra-fields' },
    { kind: 'wrong-type' },
    { kind: 'incomplete' },
  ])('%j over HTTP answers the next matching request exactly as injectFault() does', async (fault) => {
    const customer = fault.match ?? 'CUST-1';
    const clean = outcome(await complete(customer));
    emu.injectFault(fault);
    const inProcess = outcome(await complete(customer));
    expect(inProcess).not.toEqual(clean);
    expect((await control('POST', 'faults', fault)).status).toBe(201);
    if (fault.match) expect(outcome(await complete('CUST-other'))).not.toEqual(inProcess); // match leaves others alone
    expect(outcome(await complete(customer))).toEqual(inProcess);
    expect(outcome(await complete(customer))).toEqual(clean);
  });

  it('a timeout fault holds the request until the client gives up; the abort is counted', async () => {
    await control('POST', 'faults', { kind: 'timeout' });
    const t0 = Date.now();
    await expect(complete('CUST-1', AbortSignal.timeout(200))).rejects.toThrow();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await until(() => emu.counters.aborted === 1, 'the abort to be counted');
    expect(emu.counters.hung).toBe(0);
    expect((await complete()).status).toBe(200);
  });

  it.each([
    [{ kind: 'nope' }, 'kind', '"status", "insufficient_quota", "timeout", "hang"'],
    [{}, 'kind', '"malformed", "refusal"'],
    [{ kind: 'status', status: 504 }, 'status', '400, 401, 403, 404, 408, 409, 429, 500, 502, 503'],
    [{ kind: 'hang', times: 0 }, 'times', '>= 1'],
    [{ kind: 'refusal', match: 5 }, 'match', 'must be a string'],
    [{ kind: 'hang', status: 500 }, 'status', 'kind, times and match'],
    ['hang', 'body', 'one fault as a JSON object'],
  ])('bad fault %j -> 400 naming %s and what is allowed', async (payload, field, allowed) => {
    const r = await control('POST', 'faults', payload);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: field, code: 'invalid_fault' });
    expect(r.json.error.message).toContain(allowed);
    expect(r.json.error.message).toMatch(/^Invalid fault: .*Send one fault, e\.g\./);
    expect(emu.pendingFaults()).toEqual([]);
  });
});

describe("the 'hang' fault", () => {
  it('holds the request until the client aborts; hung and aborted are counted, over HTTP too', async () => {
    await control('POST', 'faults', { kind: 'hang' });
    const abort = new AbortController();
    const pending = complete('CUST-1', abort.signal).catch((e: unknown) => e);
    await until(async () => (await control('GET', 'counters')).json.hung === 1, 'the request to hang');
    await new Promise((r) => setTimeout(r, 50));
    expect(emu.counters.aborted).toBe(0); // still held
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(async () => (await control('GET', 'counters')).json.aborted === 1, 'the abort to be counted');
    expect(emu.counters).toMatchObject({ requests: 1, hung: 1, aborted: 1, completions: 0 });
    expect(emu.requests()[0]?.status).toBeUndefined(); // never answered
    expect((await complete()).status).toBe(200);
  });

  it('close() ends promptly with hung requests open and does not count them as client aborts', async () => {
    await control('POST', 'faults', { kind: 'hang', times: 3 });
    const pending = [1, 2, 3].map((i) => complete(`CUST-${i}`).catch((e: unknown) => e));
    await until(() => emu.counters.hung === 3, 'three hung requests');
    const t0 = Date.now();
    await emu.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    for (const p of pending) expect(await p).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100)); // the sockets' close events come after close() resolves
    expect(emu.counters).toMatchObject({ hung: 3, aborted: 0 });
    expect(emu.url).toBeUndefined();
    expect(emu.controlUrl).toBeUndefined();
  });
});

describe('control API: settings', () => {
  const defaults = {
    latencyMs: 0,
    flexLatencyMs: 0,
    rpm: 10_000,
    tpm: 10_000_000,
    batch: { validatingMs: BATCH_DEFAULTS.validatingMs, msPerLine: BATCH_DEFAULTS.msPerLine, finalizingMs: BATCH_DEFAULTS.finalizingMs, cancellingMs: BATCH_DEFAULTS.cancellingMs },
    batchCreate: 'answer',
    webhook: { url: null, secretSet: false, maxAttempts: 8, retryBaseMs: 5000 },
  };

  it('GET shows the live knobs; PATCH changes latency, answering with the settings in force', async () => {
    expect((await control('GET', 'settings')).json).toEqual(defaults);
    const r = await control('PATCH', 'settings', { latencyMs: 150 });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ...defaults, latencyMs: 150 });
    expect(emu.settings()).toEqual(r.json);
    const t0 = Date.now();
    expect((await complete()).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect((await control('PATCH', 'settings', {})).json).toEqual({ ...defaults, latencyMs: 150 });
  });

  it('a client that gives up during the latency counts as aborted', async () => {
    await control('PATCH', 'settings', { latencyMs: 400 });
    await expect(complete('CUST-1', AbortSignal.timeout(50))).rejects.toThrow();
    await until(() => emu.counters.aborted === 1, 'the abort to be counted');
    expect(emu.counters.hung).toBe(0);
  });

  it('rpm and tpm change the limiter (headers and 429s)', async () => {
    const r = await control('PATCH', 'settings', { rpm: 2, tpm: 500_000 });
    expect(r.json).toMatchObject({ rpm: 2, tpm: 500_000 });
    const first = await complete();
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('500000');
    await complete();
    const limited = await complete();
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('rate_limit_exceeded');
    expect((await control('GET', 'counters')).json.rateLimited).toBe(1); // the control calls used no RPM
    await control('PATCH', 'settings', { rpm: 100 });
    expect((await complete()).status).toBe(200);
  });

  it('batchSpeed presets and single batch timings', async () => {
    const fast = await control('PATCH', 'settings', { batchSpeed: 'fast', batch: { finalizingMs: 50 } });
    expect(fast.json.batch).toEqual({ ...BATCH_FAST, finalizingMs: 50 });
    const real = await control('PATCH', 'settings', { batchSpeed: 'real' });
    expect(real.json).toEqual(defaults);
  });

  it.each([
    [{ latencyMs: -1 }, 'latencyMs', 'from 0 to 600000'],
    [{ rpm: 0 }, 'rpm', '>= 1'],
    [{ tpm: 'lots' }, 'tpm', 'whole number'],
    [{ batchSpeed: 'ludicrous' }, 'batchSpeed', '"fast" or "real"'],
    [{ batch: { speed: 1 } }, 'batch.speed', 'validatingMs, msPerLine, finalizingMs, cancellingMs'],
    [{ batchCreate: 'dropped' }, 'batchCreate', '"answer" or "lost"'],
    [{ batchCreate: false }, 'batchCreate', '"answer" or "lost"'],
    [{ models: ['x'] }, 'models', 'latencyMs, flexLatencyMs, rpm, tpm, batchSpeed, batch, batchCreate and webhook'],
    [[1], 'body', 'Send a JSON object'],
  ])('bad settings %j -> 400 naming %s; nothing changes', async (payload, field, allowed) => {
    const r = await control('PATCH', 'settings', payload);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', param: field, code: 'invalid_settings' });
    expect(r.json.error.message).toContain(allowed);
    expect(emu.settings()).toEqual(defaults);
  });

  it('updateSettings() validates in-process too', () => {
    expect(() => emu.updateSettings({ latencyMs: -5 })).toThrow(/latencyMs must be a whole number/);
    expect(emu.updateSettings({ tpm: 1234 }).tpm).toBe(1234);
  });
});

describe("control API: batchCreate 'lost' (the batch is created, its answer never comes)", () => {
  const LINES = 3;
  const TIMINGS = { validatingMs: 10, msPerLine: 0, finalizingMs: 10 };
  async function uploadBatchInput(): Promise<string> {
    const jsonl = Array.from({ length: LINES }, (_, i) => JSON.stringify({ custom_id: `line-${i}`, method: 'POST', url: '/v1/responses', body: body(`CUST-${i}`) })).join('\n') + '\n';
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob([jsonl], { type: 'application/jsonl' }), 'input.jsonl');
    const r = await fetch(`${api}/files`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
    expect(r.status).toBe(200);
    return ((await r.json()) as { id: string }).id;
  }
  const createBatch = (inputFileId: string, metadata?: Record<string, string>, signal?: AbortSignal) =>
    send(`${api}/batches`, 'POST', { input_file_id: inputFileId, endpoint: '/v1/responses', completion_window: '24h', ...(metadata ? { metadata } : {}) }, KEY, signal);
  const listBatches = async () => (await send(`${api}/batches`, 'GET')).json.data as Array<{ id: string; status: string; metadata: unknown; request_counts: unknown }>;

  it('GET shows it, PATCH sets it, the in-process settings agree', async () => {
    const r = await control('PATCH', 'settings', { batchCreate: 'lost' });
    expect(r.status).toBe(200);
    expect(r.json.batchCreate).toBe('lost');
    expect((await control('GET', 'settings')).json.batchCreate).toBe('lost');
    expect(emu.settings().batchCreate).toBe('lost');
    expect(emu.updateSettings({ batchCreate: 'answer' }).batchCreate).toBe('answer');
    expect((await control('PATCH', 'settings', { latencyMs: 5 })).json.batchCreate).toBe('answer'); // untouched by other knobs
  });

  it('the batch exists, is listed and runs to the end while the create hangs; the client abort ends it', async () => {
    await control('PATCH', 'settings', { batchCreate: 'lost', batch: TIMINGS });
    const fileId = await uploadBatchInput();
    const abort = new AbortController();
    const pending = createBatch(fileId, { run_id: 'run-1', submission: 'submitting-1' }, abort.signal).catch((e: unknown) => e);
    await until(async () => (await control('GET', 'counters')).json.hung === 1, 'the create to hang');
    expect(emu.counters.batchesCreated).toBe(1);

    const [listed, ...others] = await listBatches();
    expect(others).toEqual([]);
    expect(listed).toMatchObject({ metadata: { run_id: 'run-1', submission: 'submitting-1' } });
    await until(async () => (await send(`${api}/batches/${listed!.id}`, 'GET')).json.status === 'completed', 'the batch to complete');
    expect((await send(`${api}/batches/${listed!.id}`, 'GET')).json.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    expect(emu.counters.aborted).toBe(0); // the create is still held
    const create = emu.requests().find((q) => q.method === 'POST' && q.path === '/v1/batches');
    expect(create?.status).toBeUndefined(); // never answered
    expect(create?.body).toMatchObject({ input_file_id: fileId });

    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => emu.counters.aborted === 1, 'the abort to be counted');
    expect(emu.counters).toMatchObject({ hung: 1, aborted: 1, batchesCreated: 1, batchLinesProcessed: LINES, completions: 0 });
  });

  it('"answer" restores normal creates: answered at once, nothing more held', async () => {
    await control('PATCH', 'settings', { batchCreate: 'lost', batch: TIMINGS });
    const fileId = await uploadBatchInput();
    const abort = new AbortController();
    const lost = createBatch(fileId, undefined, abort.signal).catch((e: unknown) => e);
    await until(() => emu.counters.hung === 1, 'the create to hang');
    expect((await control('PATCH', 'settings', { batchCreate: 'answer' })).json.batchCreate).toBe('answer');
    const answered = await createBatch(fileId, { run_id: 'run-2' });
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ object: 'batch', status: 'validating', metadata: { run_id: 'run-2' } });
    expect(answered.headers.get('x-request-id')).toMatch(/^req_/);
    expect((await listBatches()).map((b) => b.id)).toEqual([answered.json.id, expect.stringMatching(/^batch_/)]);
    expect(emu.counters).toMatchObject({ hung: 1, batchesCreated: 2, aborted: 0 });
    abort.abort(); // the one held before the switch stays held until its client leaves
    expect(await lost).toBeInstanceOf(Error);
    await until(() => emu.counters.aborted === 1, 'the abort to be counted');
  });

  it('an invalid create still gets its error at once; nothing is created or held', async () => {
    await control('PATCH', 'settings', { batchCreate: 'lost' });
    const missing = await createBatch('file-nope');
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ param: 'input_file_id' });
    const noEndpoint = await send(`${api}/batches`, 'POST', { input_file_id: await uploadBatchInput(), completion_window: '24h' });
    expect(noEndpoint.status).toBe(400);
    expect(noEndpoint.json.error).toMatchObject({ param: 'endpoint' });
    expect(emu.counters).toMatchObject({ hung: 0, batchesCreated: 0 });
    expect(await listBatches()).toEqual([]);
  });

  it('close() releases a held create promptly and does not count it as a client abort', async () => {
    await control('PATCH', 'settings', { batchCreate: 'lost' });
    const pending = createBatch(await uploadBatchInput()).catch((e: unknown) => e);
    await until(() => emu.counters.hung === 1, 'the create to hang');
    const t0 = Date.now();
    await emu.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 100));
    expect(emu.counters).toMatchObject({ hung: 1, aborted: 0, batchesCreated: 1 });
  });
});
