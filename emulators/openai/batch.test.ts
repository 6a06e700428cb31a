/**
 * Files API + Batch API through real HTTP and the real SDK (toFile, files.*, batches.*), with response
 * bodies checked against the spec subset (OpenAIFile, Batch).
 */
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { asMappedData, SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { parseBatchInput } from './batches.js';
import { createOpenAIEmulator, type OpenAIEmulator, type OpenAIEmulatorOptions } from './index.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { loadSpecValidator, caught } from './spec-validator.js';

const KEY = 'sk-emulator-key';
const spec = loadSpecValidator();
const FAST = { validatingMs: 10, msPerLine: 2, finalizingMs: 10, cancellingMs: 20 };

const customers = SAMPLE_CUSTOMERS.map((c, i) => asMappedData(c, 5000 + i));
const Enrichment = z.object({
  KnownToFilm: z.enum(['TRUE', 'FALSE']).describe('Whether the person is known by imdb.com'),
  Comment: z.string().describe('A short summary of the customer'),
});
const responsesBody = (customer: object): Record<string, unknown> => ({
  model: 'gpt-5-nano',
  instructions: 'Enrich the customer record. Answer only with the requested JSON.',
  input: JSON.stringify(customer),
  text: { format: zodTextFormat(Enrichment, 'enrichment') },
});
const chatBody = (customer: object, extra: Record<string, unknown> = {}): Record<string, unknown> => {
  const rf = zodResponseFormat(Enrichment, 'enrichment');
  return {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: JSON.stringify(customer) }],
    response_format: { type: rf.type, json_schema: rf.json_schema },
    ...extra,
  };
};
const line = (customId: string, url: string, body: unknown): string => JSON.stringify({ custom_id: customId, method: 'POST', url, body });
const jsonl = (lines: string[]): string => lines.join('\n') + '\n';

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: any } | null;
  error: { code: string; message: string } | null;
}

function expectBatch(body: unknown): void {
  expect(spec.check('Batch', body)).toBeNull();
}
function expectFile(body: unknown): void {
  expect(spec.check('OpenAIFile', body)).toBeNull();
}

/** Removes what differs between two answers to the same request (ids and times). */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (['id', 'created_at', 'completed_at', 'created', 'system_fingerprint'].includes(k)) continue;
      out[k] = stable(v);
    }
    return out;
  }
  return value;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function pollUntil(client: OpenAI, id: string, done: (b: OpenAI.Batches.Batch) => boolean, timeoutMs = 5000): Promise<OpenAI.Batches.Batch> {
  const started = Date.now();
  for (;;) {
    const b = await client.batches.retrieve(id);
    expectBatch(b);
    if (done(b)) return b;
    if (Date.now() - started > timeoutMs) throw new Error(`batch ${id} still ${b.status} after ${timeoutMs} ms`);
    await sleep(10);
  }
}
const TERMINAL = ['completed', 'failed', 'expired', 'cancelled'];
const settled = (b: OpenAI.Batches.Batch): boolean => TERMINAL.includes(b.status);

async function readLines(client: OpenAI, fileId: string | null | undefined): Promise<OutputLine[]> {
  if (!fileId) return [];
  const text = await (await client.files.content(fileId)).text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as OutputLine);
}

async function startEmu(opts: OpenAIEmulatorOptions = {}): Promise<{ emu: OpenAIEmulator; client: OpenAI; url: string }> {
  const emu = createOpenAIEmulator({ batch: FAST, ...opts });
  const url = await emu.start();
  return { emu, url, client: new OpenAI({ apiKey: KEY, baseURL: url, maxRetries: 0 }) };
}

async function upload(client: OpenAI, text: string, name = 'input.jsonl'): Promise<OpenAI.Files.FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' });
}

let emu: OpenAIEmulator;
let client: OpenAI;
let url: string;
const others: OpenAIEmulator[] = [];

beforeAll(async () => {
  ({ emu, client, url } = await startEmu({ maxUploadBytes: 1024 * 1024 }));
});
afterEach(() => emu.clearFaults());
afterAll(async () => {
  await emu.close();
  await Promise.all(others.map((o) => o.close()));
});

describe('multipart parser', () => {
  it('parses fields and files, keeps CRLFs inside data, reads filename*', () => {
    const body = Buffer.from(
      '--XyZ\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8\'\'in%20put.jsonl\r\nContent-Type: application/jsonl\r\n\r\n{"a":1}\r\n{"b":2}\r\n\r\n' +
        '--XyZ--\r\n',
    );
    expect(multipartBoundary('multipart/form-data; boundary="XyZ"')).toBe('XyZ');
    expect(multipartBoundary('application/json')).toBeNull();
    const parts = parseMultipart(body, 'XyZ');
    expect(parts.map((p) => p.name)).toEqual(['purpose', 'file']);
    expect(parts[0]?.data.toString()).toBe('batch');
    expect(parts[1]).toMatchObject({ filename: 'in put.jsonl', contentType: 'application/jsonl' });
    expect(parts[1]?.data.toString()).toBe('{"a":1}\r\n{"b":2}\r\n');
    expect(() => parseMultipart(Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'), 'XyZ')).toThrow();
  });
});

describe('Files API', () => {
  it('create (SDK toFile), retrieve, content, list, delete; spec-valid OpenAIFile', async () => {
    const text = jsonl([line('a', '/v1/responses', responsesBody(customers[0]!))]);
    const before = emu.counters.filesUploaded;
    const file = await upload(client, text);
    expectFile(file);
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', filename: 'input.jsonl', bytes: Buffer.byteLength(text), status: 'processed' });
    expect(file.id).toMatch(/^file-[A-Za-z0-9]{22}$/);
    expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
    expect(emu.counters.filesUploaded).toBe(before + 1);
    expect(emu.requests().find((r) => r.path === '/v1/files')?.body).toEqual({ purpose: 'batch', filename: 'input.jsonl', bytes: Buffer.byteLength(text) });

    const got = await client.files.retrieve(file.id);
    expectFile(got);
    expect(got).toEqual(file);
    expect(await (await client.files.content(file.id)).text()).toBe(text);
    const listed = await client.files.list({ purpose: 'batch' });
    expect(listed.data.map((f) => f.id)).toContain(file.id);

    const userData = await client.files.create({ file: await toFile(Buffer.from('notes'), 'notes.txt'), purpose: 'user_data' });
    expectFile(userData);
    expect(userData.expires_at).toBeUndefined();

    expect(await client.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    for (const p of [client.files.retrieve(file.id), client.files.content(file.id), client.files.delete(file.id)]) {
      const err = await caught(p);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err.error).toEqual({ message: `No such File object: ${file.id}`, type: 'invalid_request_error', param: 'id', code: null });
    }
  });

  it('rejects a non-.jsonl batch file, a bad purpose, a missing file, too large a file, and non-multipart bodies', async () => {
    const notJsonl = await caught(client.files.create({ file: await toFile(Buffer.from('{}'), 'input.json'), purpose: 'batch' }));
    expect(notJsonl).toBeInstanceOf(BadRequestError);
    expect(notJsonl.message).toContain('Invalid file format for Batch API. Must be .jsonl');

    const badPurpose = await caught(client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'nope' as 'batch' }));
    expect(badPurpose).toMatchObject({ status: 400, code: 'invalid_value', param: 'purpose' });

    const big = await caught(upload(client, 'x'.repeat(1024 * 1024 + 1)));
    expect(big).toMatchObject({ status: 400, code: 'file_too_large', param: 'file' });
    expect(big.message).toContain('The maximum file size is 1 MB');

    const form = new FormData();
    form.append('purpose', 'batch');
    const noFile = await fetch(`${url}/files`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: form });
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as any).error).toMatchObject({ code: 'missing_required_parameter', param: 'file' });

    const json = await fetch(`${url}/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"purpose":"batch"}',
    });
    expect(json.status).toBe(400);
    expect(spec.check('ErrorResponse', await json.json())).toBeNull();

    const unauthenticated = await fetch(`${url}/files`, { method: 'POST', body: form });
    expect(unauthenticated.status).toBe(401);
  });
});

describe('Batch API lifecycle', () => {
  it('responses batch: validating -> in_progress -> finalizing -> completed; each output equals a direct call, order not kept', async () => {
    const ids = customers.map((c) => `cust-${c.Id}`);
    const text = jsonl(customers.map((c, i) => line(ids[i]!, '/v1/responses', responsesBody(c))));
    const file = await upload(client, text);
    const counters = { ...emu.counters };

    const created = await client.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/responses',
      completion_window: '24h',
      metadata: { run: 'test' },
    });
    expectBatch(created);
    expect(created).toMatchObject({
      object: 'batch',
      status: 'validating',
      endpoint: '/v1/responses',
      input_file_id: file.id,
      completion_window: '24h',
      metadata: { run: 'test' },
      request_counts: { total: 0, completed: 0, failed: 0 },
    });
    expect(created.id).toMatch(/^batch_[0-9a-f]{32}$/);
    expect(created.expires_at).toBe(created.created_at + 24 * 3600);

    const seen = new Set<string>();
    const done = await pollUntil(client, created.id, (b) => {
      seen.add(b.status);
      return settled(b);
    });
    expect(seen.has('in_progress') || seen.has('finalizing')).toBe(true);
    expect(done).toMatchObject({ status: 'completed', model: 'gpt-5-nano', request_counts: { total: 6, completed: 6, failed: 0 } });
    expect(done.error_file_id ?? undefined).toBeUndefined();
    for (const t of ['in_progress_at', 'finalizing_at', 'completed_at'] as const) expect(done[t]).toBeGreaterThanOrEqual(done.created_at);
    expect(done.failed_at ?? undefined).toBeUndefined();

    const outFile = await client.files.retrieve(done.output_file_id!);
    expectFile(outFile);
    expect(outFile).toMatchObject({ purpose: 'batch_output', filename: `${done.id}_output.jsonl` });
    const out = await readLines(client, done.output_file_id);
    expect(out.map((o) => o.custom_id).sort()).toEqual([...ids].sort());
    expect(out.map((o) => o.custom_id)).not.toEqual(ids);

    let inputTokens = 0;
    let outputTokens = 0;
    for (const [i, c] of customers.entries()) {
      const o = out.find((x) => x.custom_id === ids[i])!;
      expect(o.id).toMatch(/^batch_req_/);
      expect(o.error).toBeNull();
      expect(o.response?.status_code).toBe(200);
      expect(o.response?.request_id).toMatch(/^req_[0-9a-f]{32}$/);
      expect(spec.check('Response', o.response?.body)).toBeNull();
      const direct = await client.responses.create(responsesBody(c) as never).asResponse();
      expect(stable(o.response?.body)).toEqual(stable(await direct.json()));
      inputTokens += o.response!.body.usage.input_tokens;
      outputTokens += o.response!.body.usage.output_tokens;
    }
    expect(done.usage).toMatchObject({ input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens });
    expect(emu.counters.batchesCreated).toBe(counters.batchesCreated + 1);
    expect(emu.counters.batchLinesProcessed).toBe(counters.batchLinesProcessed + 6);
    expect(emu.counters.completions).toBe(counters.completions + 6); // the six direct calls only
  });

  it('chat batch: an injected 500 (match) and an invalid request go to the error file, the rest to the output', async () => {
    const ada = customers[1]!;
    expect(ada.CustomerNumber).toBe('CUST-10046');
    const lines = customers.map((c) => line(`c-${c.Id}`, '/v1/chat/completions', chatBody(c)));
    lines.push(line('bad-temp', '/v1/chat/completions', chatBody(customers[0]!, { temperature: 5 })));
    const file = await upload(client, jsonl(lines));
    emu.injectFault({ kind: 'status', status: 500, match: 'CUST-10046' });
    const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await pollUntil(client, b.id, settled);
    expect(done).toMatchObject({ status: 'completed', request_counts: { total: 7, completed: 5, failed: 2 } });
    expect(done.metadata ?? null).toBeNull();

    const errorsOut = await readLines(client, done.error_file_id);
    const fault = errorsOut.find((e) => e.custom_id === `c-${ada.Id}`)!;
    expect(fault.response).toMatchObject({
      status_code: 500,
      body: { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } },
    });
    expect(fault.error).toBeNull();
    const badTemp = errorsOut.find((e) => e.custom_id === 'bad-temp')!;
    expect(badTemp.response?.status_code).toBe(400);
    expect(badTemp.response?.body.error).toMatchObject({ param: 'temperature', code: 'decimal_above_max_value' });
    expect(spec.check('ErrorResponse', badTemp.response?.body)).toBeNull();

    const out = await readLines(client, done.output_file_id);
    expect(out).toHaveLength(5);
    for (const o of out) {
      expect(spec.check('CreateChatCompletionResponse', o.response?.body)).toBeNull();
      const content = JSON.parse(o.response!.body.choices[0].message.content);
      expect(Enrichment.parse(content)).toBeTruthy();
    }
  });

  it('input validation: duplicate custom_id, mismatched url, invalid JSON and mismatched model -> failed with errors', async () => {
    const file = await upload(
      client,
      jsonl([
        line('a', '/v1/responses', responsesBody(customers[0]!)),
        line('a', '/v1/responses', responsesBody(customers[1]!)),
        line('b', '/v1/chat/completions', chatBody(customers[2]!)),
        '{"custom_id": "c", "method": "POST"',
        line('d', '/v1/responses', { ...responsesBody(customers[3]!), model: 'gpt-4o-mini' }),
      ]),
    );
    const b = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    const done = await pollUntil(client, b.id, settled);
    expect(done.status).toBe('failed');
    expect(done.failed_at).toBeGreaterThanOrEqual(done.created_at);
    expect(done.in_progress_at ?? undefined).toBeUndefined();
    expect(done.output_file_id ?? undefined).toBeUndefined();
    expect(done.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });
    expect(done.errors?.object).toBe('list');
    expect(done.errors?.data?.map((e) => [e.code, e.line, e.param])).toEqual([
      ['duplicate_custom_id', 2, 'custom_id'],
      ['mismatched_url', 3, 'url'],
      ['invalid_json_line', 4, null],
      ['mismatched_model', 5, 'body.model'],
    ]);
    expect(done.errors?.data?.[1]?.message).toContain("'/v1/chat/completions' does not match the batch endpoint '/v1/responses'");
  });

  it('parseBatchInput: line format checks and limits', () => {
    const limits = { maxLinesPerFile: 3, maxFileBytes: 10_000 };
    const ok = parseBatchInput(Buffer.from(jsonl([line('x', '/v1/responses', { model: 'm', input: 'i' })]) + '\r\n\n'), '/v1/responses', limits);
    expect(ok).toMatchObject({ ok: true, model: 'm', lines: [{ line: 1, customId: 'x' }] });
    const bad = parseBatchInput(
      Buffer.from(['{"method":"POST","url":"/v1/responses","body":{}}', '{"custom_id":"y","method":"GET","url":"/v1/responses","body":{}}', '[1]'].join('\n')),
      '/v1/responses',
      limits,
    );
    expect(bad.ok ? [] : bad.errors.map((e) => [e.code, e.param, e.line])).toEqual([
      ['missing_required_parameter', 'custom_id', 1],
      ['invalid_value', 'method', 2],
      ['invalid_json_line', null, 3],
    ]);
    expect(parseBatchInput(Buffer.from('\n\n'), '/v1/responses', limits)).toMatchObject({ ok: false, errors: [{ code: 'empty_file' }] });
    expect(parseBatchInput(Buffer.from('x'.repeat(10_001)), '/v1/responses', limits)).toMatchObject({ ok: false, errors: [{ code: 'file_too_large' }] });
  });

  it('a line fault of every kind: timeout/hang -> no response, 429 -> status_code 429, refusal -> 200 refusal', async () => {
    const [a, b, c, d] = customers;
    const file = await upload(client, jsonl([a, b, c, d].map((x) => line(`k-${x!.Id}`, '/v1/responses', responsesBody(x!)))));
    emu.injectFault({ kind: 'timeout', match: a!.CustomerNumber! });
    emu.injectFault({ kind: 'hang', match: d!.CustomerNumber! });
    emu.injectFault({ kind: 'status', status: 429, match: b!.CustomerNumber! });
    emu.injectFault({ kind: 'refusal', match: c!.CustomerNumber! });
    const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    const done = await pollUntil(client, batch.id, settled);
    expect(done.request_counts).toEqual({ total: 4, completed: 1, failed: 3 });
    const errs = await readLines(client, done.error_file_id);
    expect(errs.find((e) => e.custom_id === `k-${a!.Id}`)).toMatchObject({ response: null, error: { code: 'request_timeout' } });
    // a batch line cannot hang forever: it ends like a timeout
    expect(errs.find((e) => e.custom_id === `k-${d!.Id}`)).toMatchObject({ response: null, error: { code: 'request_timeout' } });
    expect(errs.find((e) => e.custom_id === `k-${b!.Id}`)?.response).toMatchObject({ status_code: 429, body: { error: { code: 'rate_limit_exceeded' } } });
    const [refused] = await readLines(client, done.output_file_id);
    expect(refused?.response?.body.output.at(-1).content[0].type).toBe('refusal');
  });
});

describe('expiry, cancel, controls', () => {
  it('expireNow: partial output, the rest in the error file as batch_expired', async () => {
    const { emu: slow, client: sdk } = await startEmu({ batch: { ...FAST, msPerLine: 40 } });
    others.push(slow);
    const file = await upload(sdk, jsonl(customers.map((c) => line(`e-${c.Id}`, '/v1/responses', responsesBody(c)))));
    const b = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    await pollUntil(sdk, b.id, (x) => x.request_counts!.completed >= 2);
    slow.batchControl.pause(b.id); // so that the expiry is not raced by the last lines under load
    const mid = await sdk.batches.retrieve(b.id);
    expect(mid.status).toBe('in_progress');
    expect(mid.request_counts!.total).toBe(6);
    expect(mid.usage).toBeUndefined();
    slow.batchControl.expireNow(b.id);
    const done = await sdk.batches.retrieve(b.id);
    expectBatch(done);
    expect(done.status).toBe('expired');
    expect(done.expired_at).toBeGreaterThanOrEqual(done.created_at);
    const out = await readLines(sdk, done.output_file_id);
    const errs = await readLines(sdk, done.error_file_id);
    expect(out).toHaveLength(mid.request_counts!.completed);
    expect(out.length + errs.length).toBe(6);
    expect(done.request_counts).toEqual({ total: 6, completed: out.length, failed: errs.length });
    for (const e of errs) {
      expect(e.response).toBeNull();
      expect(e.error).toEqual({ code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' });
    }
    expect(new Set([...out, ...errs].map((l) => l.custom_id)).size).toBe(6);
    expect(done.usage?.input_tokens).toBe(out.reduce((s, o) => s + o.response!.body.usage.input_tokens, 0));
    expect(() => slow.batchControl.expireNow('batch_nope')).toThrow();
  });

  it('the completion window (completionWindowMs) expires a paused batch; resume continues another', async () => {
    const { emu: win, client: sdk } = await startEmu({ batch: { ...FAST, validatingMs: 100, msPerLine: 20, completionWindowMs: 600 } });
    others.push(win);
    const file = await upload(sdk, jsonl(customers.map((c) => line(`w-${c.Id}`, '/v1/responses', responsesBody(c)))));
    const b = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    win.batchControl.pause(b.id);
    await sleep(100);
    expect((await sdk.batches.retrieve(b.id)).status).toBe('validating');
    const done = await pollUntil(sdk, b.id, settled);
    expect(done.status).toBe('expired');
    expect(done.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });

    const b2 = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    await pollUntil(sdk, b2.id, (x) => x.status === 'in_progress', 400);
    win.batchControl.pause(b2.id);
    await sleep(30);
    const held = (await sdk.batches.retrieve(b2.id)).request_counts!.completed;
    await sleep(50);
    expect((await sdk.batches.retrieve(b2.id)).request_counts!.completed).toBe(held);
    win.batchControl.resume(b2.id);
    expect((await pollUntil(sdk, b2.id, settled)).status).toBe('completed');
  });

  it('cancel: cancelling -> cancelled with partial output; cancelling twice is fine; a completed batch cannot be cancelled', async () => {
    const { emu: slow, client: sdk } = await startEmu({ batch: { ...FAST, msPerLine: 40, cancellingMs: 60 } });
    others.push(slow);
    const file = await upload(sdk, jsonl(customers.map((c) => line(`x-${c.Id}`, '/v1/responses', responsesBody(c)))));
    const b = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    await pollUntil(sdk, b.id, (x) => x.request_counts!.completed >= 1);
    slow.batchControl.pause(b.id); // cancel overrides a pause
    const processed = (await sdk.batches.retrieve(b.id)).request_counts!.completed;
    expect(processed).toBeLessThan(6);
    const cancelling = await sdk.batches.cancel(b.id);
    expectBatch(cancelling);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).toBeGreaterThanOrEqual(cancelling.created_at);
    expect((await sdk.batches.cancel(b.id)).status).toBe('cancelling');
    const done = await pollUntil(sdk, b.id, settled);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).toBeGreaterThanOrEqual(done.cancelling_at!);
    const out = await readLines(sdk, done.output_file_id);
    expect(out).toHaveLength(processed);
    expect(done.request_counts).toEqual({ total: 6, completed: processed, failed: 0 });
    expect((await sdk.batches.cancel(b.id)).status).toBe('cancelled');

    const v = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    slow.batchControl.pause(v.id); // hold it in 'validating'
    expect((await sdk.batches.cancel(v.id)).status).toBe('cancelling');
    expect(await pollUntil(sdk, v.id, settled)).toMatchObject({ status: 'cancelled', request_counts: { total: 0 } });

    const small = await upload(sdk, jsonl([line('only', '/v1/responses', responsesBody(customers[0]!))]));
    const c = await sdk.batches.create({ input_file_id: small.id, endpoint: '/v1/responses', completion_window: '24h' });
    expect((await pollUntil(sdk, c.id, settled)).status).toBe('completed');
    const err = await caught(sdk.batches.cancel(c.id));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.message).toContain("Cannot cancel a batch with status 'completed'.");
  });

  it('failNext, list with limit/after, and close() stops the timers', async () => {
    // Record the emulator's batch timers (recognized by their delays) to check that close() clears them.
    const realSetTimeout = globalThis.setTimeout;
    const batchTimers: NodeJS.Timeout[] = [];
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      const handle = realSetTimeout(() => fn(...args), ms);
      if (ms === 60_000 || ms === 86_400_000) batchTimers.push(handle);
      return handle;
    }) as typeof setTimeout);
    const { emu: e, client: sdk } = await startEmu({ batch: { ...FAST, validatingMs: 60_000 } });
    const file = await upload(sdk, jsonl([line('a', '/v1/responses', responsesBody(customers[0]!))]));
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      created.push((await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' })).id);
    }
    const page = await sdk.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual([created[2], created[1]]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const b of sdk.batches.list({ limit: 2 })) all.push(b.id);
    expect(all).toEqual([...created].reverse());
    for (const b of page.data) expectBatch(b);

    spy.mockRestore();
    expect(batchTimers).toHaveLength(6); // validating + expiry per batch, all unref'd
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await e.close();
    const before = timers();
    for (const t of batchTimers) t.ref(); // a cleared timer stays inactive when ref'd
    expect(timers()).toBe(before);

    const { emu: f, client: sdk2 } = await startEmu();
    others.push(f);
    const file2 = await upload(sdk2, jsonl([line('a', '/v1/responses', responsesBody(customers[0]!))]));
    f.batchControl.failNext('Injected: the input file could not be read.');
    const failed = await pollUntil(sdk2, (await sdk2.batches.create({ input_file_id: file2.id, endpoint: '/v1/responses', completion_window: '24h' })).id, settled);
    expect(failed).toMatchObject({ status: 'failed', errors: { data: [{ code: 'batch_failed', message: 'Injected: the input file could not be read.' }] } });
    const fine = await pollUntil(sdk2, (await sdk2.batches.create({ input_file_id: file2.id, endpoint: '/v1/responses', completion_window: '24h' })).id, settled);
    expect(fine.status).toBe('completed');
  });

  it('batch lines do not use the synchronous RPM bucket', async () => {
    const { emu: limited, client: sdk } = await startEmu({ rpm: 1 });
    others.push(limited);
    const file = await upload(sdk, jsonl(customers.map((c) => line(`r-${c.Id}`, '/v1/responses', responsesBody(c)))));
    const b = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    const done = await pollUntil(sdk, b.id, settled);
    expect(done.request_counts).toEqual({ total: 6, completed: 6, failed: 0 });
    expect((await sdk.responses.create({ model: 'gpt-5-nano', input: 'x' })).status).toBe('completed');
    expect(limited.counters.inputTokens).toBeGreaterThan(done.usage!.input_tokens);
  });
});

describe('errors and limits', () => {
  it('404s for unknown batches and input files; 400s for bad create parameters', async () => {
    const missing = await caught(client.batches.retrieve('batch_nope'));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.error).toEqual({ message: 'No such Batch object: batch_nope', type: 'invalid_request_error', param: 'id', code: null });
    expect(await caught(client.batches.cancel('batch_nope'))).toBeInstanceOf(NotFoundError);

    const noFile = await caught(client.batches.create({ input_file_id: 'file-nope', endpoint: '/v1/responses', completion_window: '24h' }));
    expect(noFile).toBeInstanceOf(NotFoundError);
    expect(noFile.error).toMatchObject({ message: 'No such File object: file-nope', param: 'input_file_id' });

    const file = await upload(client, jsonl([line('a', '/v1/responses', responsesBody(customers[0]!))]));
    const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
      [{ endpoint: '/v1/embeddings' }, { param: 'endpoint', code: 'unsupported_value', message: expect.stringContaining("'/v1/embeddings' is not emulated") }],
      [{ endpoint: '/v1/nope' }, { param: 'endpoint', code: 'invalid_value' }],
      [{ completion_window: '1h' }, { param: 'completion_window', code: 'invalid_value', message: "Invalid value: '1h'. Supported values are: '24h'." }],
      [{ input_file_id: undefined }, { param: 'input_file_id', code: 'missing_required_parameter' }],
      [{ metadata: { n: 1 } }, { param: 'metadata.n', code: 'invalid_type' }],
      [{ foo: 1 }, { param: 'foo', code: 'unknown_parameter' }],
    ];
    for (const [override, error] of cases) {
      const res = await fetch(`${url}/batches`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h', ...override }),
      });
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(spec.check('ErrorResponse', body)).toBeNull();
      expect((body as any).error).toMatchObject(error);
      expect(res.headers.get('x-ratelimit-limit-requests')).not.toBeNull();
      expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    }
    const userData = await client.files.create({ file: await toFile(Buffer.from('{}'), 'a.jsonl'), purpose: 'user_data' });
    const wrongPurpose = await caught(client.batches.create({ input_file_id: userData.id, endpoint: '/v1/responses', completion_window: '24h' }));
    expect(wrongPurpose).toMatchObject({ status: 400, param: 'input_file_id' });
  });

  it('maxLinesPerFile and maxFileBytes knobs fail the batch with a clear error', async () => {
    const { emu: small, client: sdk } = await startEmu({ batch: { ...FAST, maxLinesPerFile: 3, maxFileBytes: 3000 } });
    others.push(small);
    const four = await upload(sdk, jsonl([1, 2, 3, 4].map((i) => line(`l-${i}`, '/v1/responses', { model: 'gpt-5-nano', input: 'x' }))));
    const tooMany = await pollUntil(sdk, (await sdk.batches.create({ input_file_id: four.id, endpoint: '/v1/responses', completion_window: '24h' })).id, settled);
    expect(tooMany.status).toBe('failed');
    expect(tooMany.errors?.data).toEqual([
      { code: 'too_many_requests', message: 'The input file contains 4 requests; a batch can contain at most 3 requests.', param: 'input_file_id', line: null },
    ]);
    const big = await upload(sdk, jsonl([line('big', '/v1/responses', { model: 'gpt-5-nano', input: 'y'.repeat(3000) })]));
    const tooBig = await pollUntil(sdk, (await sdk.batches.create({ input_file_id: big.id, endpoint: '/v1/responses', completion_window: '24h' })).id, settled);
    expect(tooBig.errors?.data?.[0]).toMatchObject({ code: 'file_too_large', message: expect.stringContaining('at most 3000 bytes') });
  });
});
