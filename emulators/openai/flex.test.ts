/**
 * Flex processing over real HTTP with the official SDK: service_tier 'flex' is answered as flex after
 * the flex latency, a capacity fault is OpenAI's 429 "Resource Unavailable" and costs nothing, other
 * tiers answer default, and requests without service_tier and batches are as before.
 */
import OpenAI, { BadRequestError, RateLimitError } from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asMappedData, SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { BATCH_FAST, createOpenAIEmulator, type OpenAIEmulator } from './index.js';
import { caught, loadSpecValidator } from './spec-validator.js';

const KEY = 'sk-emulator-key';
const spec = loadSpecValidator();
const keanu = JSON.stringify(asMappedData(SAMPLE_CUSTOMERS[0]!, 1));
const ada = JSON.stringify(asMappedData(SAMPLE_CUSTOMERS[1]!, 2));

let emu: OpenAIEmulator;
let client: OpenAI;
beforeEach(async () => {
  emu = createOpenAIEmulator({ latencyMs: 0, flexLatencyMs: 0 });
  client = new OpenAI({ apiKey: KEY, baseURL: await emu.start(), maxRetries: 0 });
});
afterEach(async () => emu.close());

const respond = (input: string, tier?: 'flex' | 'default' | 'auto' | 'priority') =>
  client.responses.create({ model: 'gpt-5-nano', input, ...(tier ? { service_tier: tier } : {}) });
const chat = (content: string, tier?: 'flex' | 'default' | 'auto') =>
  client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...(tier ? { service_tier: tier } : {}) });

describe('service_tier on the synchronous endpoints', () => {
  it('flex is answered as flex by Responses and Chat Completions, in spec-valid bodies', async () => {
    const r = await respond(keanu, 'flex');
    expect(r.service_tier).toBe('flex');
    expect(spec.check('Response', JSON.parse(JSON.stringify(r)))).toBeNull();
    const c = await chat(keanu, 'flex');
    expect(c.service_tier).toBe('flex');
    expect(spec.check('CreateChatCompletionResponse', JSON.parse(JSON.stringify(c)))).toBeNull();
    expect(emu.counters.completions).toBe(2);
  });

  it('default and auto answer default; without service_tier as before (default); priority answers priority', async () => {
    expect((await respond(keanu, 'default')).service_tier).toBe('default');
    expect((await respond(keanu, 'auto')).service_tier).toBe('default');
    expect((await respond(keanu)).service_tier).toBe('default');
    expect((await chat(keanu, 'auto')).service_tier).toBe('default');
    expect((await chat(keanu)).service_tier).toBe('default');
    expect((await respond(keanu, 'priority')).service_tier).toBe('priority');
  });

  it('an unknown tier is a 400 naming service_tier, as OpenAI validates enums', async () => {
    const e = await caught(client.responses.create({ model: 'gpt-5-nano', input: 'x', service_tier: 'cheap' as 'flex' }));
    expect(e).toBeInstanceOf(BadRequestError);
    expect(e.param).toBe('service_tier');
    expect(e.code).toBe('invalid_value');
  });

  it('flex waits flexLatencyMs instead of latencyMs (settings, live)', async () => {
    emu.updateSettings({ latencyMs: 0, flexLatencyMs: 300 });
    let t = Date.now();
    await respond(keanu);
    expect(Date.now() - t).toBeLessThan(250);
    t = Date.now();
    await respond(keanu, 'flex');
    expect(Date.now() - t).toBeGreaterThanOrEqual(290);
    expect(emu.settings()).toMatchObject({ latencyMs: 0, flexLatencyMs: 300 });
  });
});

describe('flex_unavailable fault', () => {
  it("is a 429 'Resource Unavailable' for a flex request, not charged, and leaves other requests alone", async () => {
    emu.injectFault({ kind: 'flex_unavailable', times: 2, match: 'CUST-10045' });
    // a default-tier request and a flex request for someone else pass it by
    expect((await respond(keanu)).status).toBe('completed');
    expect((await respond(ada, 'flex')).service_tier).toBe('flex');
    expect(emu.pendingFaults()).toEqual([{ fault: { kind: 'flex_unavailable', times: 2, match: 'CUST-10045' }, remaining: 2 }]);
    const before = { ...emu.counters };

    const res = await fetch(`${emu.url}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-nano', input: keanu, service_tier: 'flex' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
    expect(res.headers.get('x-ratelimit-remaining-requests')).not.toBeNull();
    const body = await res.json();
    expect(spec.check('ErrorResponse', body)).toBeNull();
    expect(body).toEqual({
      error: {
        message: expect.stringMatching(/^Resource Unavailable: .*not been charged/),
        type: 'resource_unavailable',
        param: null,
        code: 'resource_unavailable',
      },
    });
    const e = await caught(chat(keanu, 'flex'));
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.code).toBe('resource_unavailable');

    // not usage: no completion, no tokens; counted as a 429 and as flex unavailability
    expect(emu.counters).toMatchObject({
      completions: before.completions,
      inputTokens: before.inputTokens,
      outputTokens: before.outputTokens,
      rateLimited: before.rateLimited + 2,
      flexUnavailable: 2,
    });
    expect(emu.pendingFaults()).toEqual([]);
    expect((await respond(keanu, 'flex')).service_tier).toBe('flex');
  });

  it('can be queued over the control API; batches ignore service_tier and flex faults', async () => {
    const control = await fetch(`${emu.controlUrl}faults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'flex_unavailable' }),
    });
    expect(control.status).toBe(201);
    emu.updateSettings({ batch: { ...BATCH_FAST } });
    const line = { custom_id: 'k', method: 'POST', url: '/v1/responses', body: { model: 'gpt-5-nano', input: keanu, service_tier: 'flex' } };
    const file = await client.files.create({ file: new File([`${JSON.stringify(line)}\n`], 'in.jsonl'), purpose: 'batch' });
    let batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    while (!['completed', 'failed'].includes(batch.status)) {
      await new Promise((r) => setTimeout(r, 50));
      batch = await client.batches.retrieve(batch.id);
    }
    expect(batch.request_counts).toMatchObject({ completed: 1, failed: 0 });
    const out = JSON.parse((await (await client.files.content(batch.output_file_id!)).text()).trim());
    expect(out.response.body.service_tier).toBe('default');
    expect(emu.pendingFaults()).toHaveLength(1);
    expect(emu.counters.flexUnavailable).toBe(0);
  });

  it('the control API refuses a flex fault with unknown fields', async () => {
    const res = await fetch(`${emu.controlUrl}faults`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'flex_unavailable', status: 429 }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/Unknown field "status"; this fault takes kind, times and match/);
  });
});
