import OpenAI, {
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';
import { LengthFinishReasonError } from 'openai/error';
import { zodResponseFormat, zodTextFormat } from 'openai/helpers/zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { asMappedData, SAMPLE_CUSTOMERS } from '../sample-customers.js';
import { buildSummary, createOpenAIEmulator, estimateInputTokens, estimatePrefixTokens, type OpenAIEmulator } from './index.js';
import { loadSpecValidator, type SpecSchemaName, caught } from './spec-validator.js';

const KEY = 'sk-emulator-key';
const spec = loadSpecValidator();

/** The mapped customer JSON the connector sends as the user input. */
const customers = SAMPLE_CUSTOMERS.map((c, i) => asMappedData(c, 5000 + i));
const keanu = customers[0]!;
const ada = customers[1]!;
const mallory = customers[4]!;

const KEANU_SUMMARY =
  '- Name: Keanu Reeves\n- Customer number: CUST-10045\n- Email: keanu.reeves@example.com\n' +
  '- Company: Arch Motorcycle\n- Categories: VIP, Wholesale\n- Known to film: yes';
const ADA_SUMMARY =
  '- Name: Ada Lovelace\n- Customer number: CUST-10046\n- Email: ada.lovelace@example.com\n' +
  '- Company: Analytical Engines Ltd\n- Categories: Retail\n- Known to film: no';

const Enrichment = z.object({
  KnownToFilm: z.enum(['TRUE', 'FALSE']).describe('Whether the person is known by imdb.com'),
  Comment: z.string().describe('A short summary of the customer'),
});
const INSTRUCTIONS = 'Enrich the customer record. Answer only with the requested JSON.';

const enrichSchema = zodTextFormat(Enrichment, 'enrichment').schema;
const responsesBody = (model: string, customer: object, extra: Record<string, unknown> = {}) => ({
  model,
  instructions: INSTRUCTIONS,
  input: JSON.stringify(customer),
  text: { format: { type: 'json_schema', name: 'enrichment', schema: enrichSchema, strict: true } },
  ...extra,
});

let emu: OpenAIEmulator;
let url: string;
let client: OpenAI;

async function post(path: string, body: unknown, key: string | null = KEY): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

function expectSpec(schema: SpecSchemaName, body: unknown): void {
  expect(spec.check(schema, body)).toBeNull();
}

const OPENAI_HEADERS = [
  'x-request-id',
  'openai-processing-ms',
  'openai-version',
  'openai-organization',
  'x-ratelimit-limit-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-requests',
  'x-ratelimit-reset-tokens',
];
function expectOpenAIHeaders(h: Headers): void {
  for (const name of OPENAI_HEADERS) expect(h.get(name), name).not.toBeNull();
  expect(h.get('x-request-id')).toMatch(/^req_[0-9a-f]{32}$/);
  expect(h.get('openai-version')).toBe('2020-10-01');
  expect(h.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$/);
}


beforeAll(async () => {
  emu = createOpenAIEmulator();
  url = await emu.start();
  client = new OpenAI({ apiKey: KEY, baseURL: url, maxRetries: 0 });
});
afterAll(async () => {
  await emu.close();
});
afterEach(() => {
  emu.clearFaults();
});

describe('structured answers through the real SDK', () => {
  it('responses.parse with zodTextFormat: Keanu TRUE, Ada FALSE, exact summary', async () => {
    for (const model of ['gpt-5-nano', 'gpt-4o-mini']) {
      const r1 = await client.responses.parse({
        model,
        instructions: INSTRUCTIONS,
        input: JSON.stringify(keanu),
        text: { format: zodTextFormat(Enrichment, 'enrichment') },
      });
      expect(r1.output_parsed).toEqual({ KnownToFilm: 'TRUE', Comment: KEANU_SUMMARY });
      expect(r1._request_id).toMatch(/^req_/);
      const r2 = await client.responses.parse({
        model,
        input: [{ role: 'user', content: [{ type: 'input_text', text: JSON.stringify(ada) }] }],
        text: { format: zodTextFormat(Enrichment, 'enrichment') },
      });
      expect(r2.output_parsed).toEqual({ KnownToFilm: 'FALSE', Comment: ADA_SUMMARY });
      expect(r2.output_parsed?.Comment).toBe(buildSummary(ada, true));
    }
  });

  it('chat.completions.parse with zodResponseFormat gives the same answers', async () => {
    const r = await client.chat.completions.parse({
      model: 'gpt-4.1-mini',
      messages: [
        { role: 'system', content: INSTRUCTIONS },
        { role: 'user', content: JSON.stringify(keanu) },
      ],
      response_format: zodResponseFormat(Enrichment, 'enrichment'),
    });
    expect(r.choices[0]?.message.parsed).toEqual({ KnownToFilm: 'TRUE', Comment: KEANU_SUMMARY });
    const r2 = await client.chat.completions.parse({
      model: 'gpt-5-mini',
      reasoning_effort: 'minimal',
      messages: [{ role: 'user', content: JSON.stringify(ada) }],
      response_format: zodResponseFormat(Enrichment, 'enrichment'),
    });
    expect(r2.choices[0]?.message.parsed).toEqual({ KnownToFilm: 'FALSE', Comment: ADA_SUMMARY });
    expect(r2.usage?.completion_tokens_details?.reasoning_tokens).toBe(0);
  });

  it('the gullible model answers TRUE to a prompt injection, but adds no properties', async () => {
    const r = await client.responses.parse({
      model: 'gpt-5-nano',
      input: JSON.stringify(mallory),
      text: { format: zodTextFormat(Enrichment, 'enrichment') },
    });
    expect(r.output_parsed?.KnownToFilm).toBe('TRUE');
    expect(Object.keys(JSON.parse(r.output_text))).toEqual(['KnownToFilm', 'Comment']);
  });

  it('models.list and models.retrieve', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['gpt-5-nano', 'gpt-5-mini', 'gpt-4o-mini', 'gpt-4.1-mini']);
    expect((await client.models.retrieve('gpt-5-nano')).object).toBe('model');
    const err = await caught(client.models.retrieve('gpt-9'));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.code).toBe('model_not_found');
  });
});

describe('raw bodies are spec-valid and carry OpenAI headers', () => {
  it('responses (reasoning and non-reasoning), chat, models', async () => {
    const reasoning = await post('/responses', responsesBody('gpt-5-nano', keanu, { reasoning: { effort: 'low' }, max_output_tokens: 2000 }));
    expect(reasoning.status).toBe(200);
    expectSpec('Response', reasoning.json);
    expectOpenAIHeaders(reasoning.headers);
    expect(reasoning.json.output.map((o: { type: string }) => o.type)).toEqual(['reasoning', 'message']);
    expect(reasoning.json.output[0].id).toMatch(/^rs_/);
    expect(reasoning.json.id).toMatch(/^resp_/);
    expect(reasoning.json.output_text).toBeUndefined();
    expect(reasoning.json.usage.output_tokens_details.reasoning_tokens).toBe(64);
    expect(reasoning.json.reasoning).toEqual({ effort: 'low', summary: null });

    const plain = await post('/responses', responsesBody('gpt-4o-mini', ada, { temperature: 0.2, metadata: { run: 'x' } }));
    expect(plain.status).toBe(200);
    expectSpec('Response', plain.json);
    expect(plain.json.output.map((o: { type: string }) => o.type)).toEqual(['message']);
    expect(plain.json).toMatchObject({ temperature: 0.2, metadata: { run: 'x' }, status: 'completed', incomplete_details: null });
    expect(JSON.parse(plain.json.output[0].content[0].text)).toEqual({ KnownToFilm: 'FALSE', Comment: ADA_SUMMARY });

    const chat = await post('/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: JSON.stringify(ada) }],
      response_format: { type: 'json_schema', json_schema: { name: 'enrichment', schema: enrichSchema, strict: true } },
    });
    expect(chat.status).toBe(200);
    expectSpec('CreateChatCompletionResponse', chat.json);
    expectOpenAIHeaders(chat.headers);
    expect(chat.json.id).toMatch(/^chatcmpl-/);
    expect(chat.json.system_fingerprint).toMatch(/^fp_/);
    expect(chat.json.choices[0]).toMatchObject({ finish_reason: 'stop', logprobs: null, message: { refusal: null, annotations: [] } });

    const models = await fetch(`${url}/models`, { headers: { authorization: `Bearer ${KEY}` } });
    expectSpec('ListModelsResponse', await models.json());
    expectOpenAIHeaders(models.headers);
    const model = await fetch(`${url}/models/gpt-4o-mini`, { headers: { authorization: `Bearer ${KEY}` } });
    expectSpec('Model', await model.json());
  });

  it('usage follows estimateInputTokens, and a repeated long prefix is cached', async () => {
    const long = 'You enrich customer records for an iPaaS.com subscriber. Be precise and brief. '.repeat(80);
    const body = responsesBody('gpt-4.1-mini', ada, { instructions: long });
    const prefix = estimatePrefixTokens(body);
    expect(prefix).toBeGreaterThan(1024);
    const first = await post('/responses', body);
    expect(first.json.usage.input_tokens).toBe(estimateInputTokens(body));
    expect(first.json.usage.input_tokens_details.cached_tokens).toBe(0);
    const second = await post('/responses', responsesBody('gpt-4.1-mini', keanu, { instructions: long }));
    expect(second.json.usage.input_tokens_details.cached_tokens).toBe(Math.floor(prefix / 128) * 128);
    expectSpec('Response', second.json);

    // The SDK's own body (zodTextFormat's schema) is counted the same way.
    const r = await client.responses.parse({ model: 'gpt-4.1-mini', instructions: long, input: 'hi', text: { format: zodTextFormat(Enrichment, 'enrichment') } });
    const sent = emu.requests().at(-1)!;
    expect(sent.headers.authorization).toBe('REDACTED');
    expect(r.usage?.input_tokens).toBe(estimateInputTokens(sent.body));
    expect(r.usage?.input_tokens_details.cached_tokens).toBeGreaterThan(0);
  });
});

describe('validation errors', () => {
  const cases: Array<{ name: string; path?: string; body: unknown; key?: string | null; status: number; error: Record<string, unknown> }> = [
    {
      name: 'no API key',
      body: responsesBody('gpt-5-nano', ada),
      key: null,
      status: 401,
      error: { type: 'invalid_request_error', code: null, param: null, message: expect.stringMatching(/^You didn't provide an API key\. You need to provide your API key in an Authorization header using Bearer auth \(i\.e\. Authorization: Bearer YOUR_KEY\)/) },
    },
    {
      name: 'unknown model',
      body: responsesBody('gpt-nope', ada),
      status: 404,
      error: { code: 'model_not_found', message: 'The model `gpt-nope` does not exist or you do not have access to it.' },
    },
    { name: 'missing model', body: { input: 'x' }, status: 400, error: { code: 'missing_required_parameter', param: 'model', message: "Missing required parameter: 'model'." } },
    { name: 'missing input', body: { model: 'gpt-5-nano' }, status: 400, error: { code: 'missing_required_parameter', param: 'input' } },
    { name: 'missing messages', path: '/chat/completions', body: { model: 'gpt-5-nano' }, status: 400, error: { code: 'missing_required_parameter', param: 'messages' } },
    {
      name: 'temperature on a reasoning model',
      body: responsesBody('gpt-5-nano', ada, { temperature: 0.2 }),
      status: 400,
      error: { type: 'invalid_request_error', param: 'temperature', code: 'unsupported_parameter', message: "Unsupported parameter: 'temperature' is not supported with this model." },
    },
    {
      name: 'reasoning.effort on a non-reasoning model',
      body: responsesBody('gpt-4o-mini', ada, { reasoning: { effort: 'low' } }),
      status: 400,
      error: { param: 'reasoning.effort', code: 'unsupported_parameter' },
    },
    {
      name: 'reasoning_effort on a non-reasoning chat model',
      path: '/chat/completions',
      body: { model: 'gpt-4.1-mini', reasoning_effort: 'low', messages: [{ role: 'user', content: 'x' }] },
      status: 400,
      error: { param: 'reasoning_effort', code: 'unsupported_parameter' },
    },
    {
      name: 'stream: true',
      body: responsesBody('gpt-5-nano', ada, { stream: true }),
      status: 400,
      error: { type: 'invalid_request_error', param: 'stream', message: expect.stringContaining('Streaming is not supported by this emulator') },
    },
    { name: 'invalid JSON', body: '{"model":', status: 400, error: { message: expect.stringMatching(/^We could not parse the JSON body of your request/) } },
    { name: 'unknown parameter', body: responsesBody('gpt-5-nano', ada, { foo: 1 }), status: 400, error: { code: 'unknown_parameter', param: 'foo' } },
    { name: 'max_output_tokens below 16', body: responsesBody('gpt-5-nano', ada, { max_output_tokens: 5 }), status: 400, error: { code: 'integer_below_min_value', param: 'max_output_tokens' } },
    {
      name: 'invalid format name',
      body: { model: 'gpt-5-nano', input: 'x', text: { format: { type: 'json_schema', name: 'bad name!', schema: enrichSchema, strict: true } } },
      status: 400,
      error: { param: 'text.format.name' },
    },
    {
      name: 'strict schema without additionalProperties (responses)',
      body: { model: 'gpt-5-nano', input: 'x', text: { format: { type: 'json_schema', name: 'enrichment', strict: true, schema: { type: 'object', properties: { x: { type: 'string' } }, required: ['x'] } } } },
      status: 400,
      error: {
        type: 'invalid_request_error',
        code: 'invalid_json_schema',
        param: 'text.format.schema',
        message: "Invalid schema for response_format 'enrichment': In context=(), 'additionalProperties' is required to be supplied and to be false.",
      },
    },
    {
      name: 'strict schema with a property missing from required (chat)',
      path: '/chat/completions',
      body: {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        response_format: {
          type: 'json_schema',
          json_schema: { name: 'enrichment', strict: true, schema: { type: 'object', properties: { a: { type: 'string' }, k: { type: 'string' } }, required: ['a'], additionalProperties: false } },
        },
      },
      status: 400,
      error: {
        code: 'invalid_json_schema',
        param: 'response_format',
        message: "Invalid schema for response_format 'enrichment': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'k'.",
      },
    },
  ];

  it.each(cases)('$name -> $status', async ({ path, body, key, status, error }) => {
    const res = await post(path ?? '/responses', body, key === undefined ? KEY : key);
    expect(res.status).toBe(res.status === status ? status : res.text);
    expectSpec('ErrorResponse', res.json);
    expect(res.json.error).toMatchObject(error);
    expectOpenAIHeaders(res.headers);
  });

  it('wrong key: AuthenticationError with invalid_api_key and a masked key', async () => {
    const secret = 'sk-proj-THISISSECRET1234567890abcd';
    const bad = new OpenAI({ apiKey: secret, baseURL: url, maxRetries: 0 });
    const err = await caught(bad.responses.create({ model: 'gpt-5-nano', input: 'x' }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.status).toBe(401);
    expect(err.code).toBe('invalid_api_key');
    expect(err.message).toContain('Incorrect API key provided: sk-');
    expect(err.message).toContain('abcd');
    expect(err.message).not.toContain(secret);
    expect(err.message).not.toContain('THISISSECRET');
    expect(err.requestID).toMatch(/^req_/);
    const raw = await post('/responses', { model: 'gpt-5-nano', input: 'x' }, secret);
    expectSpec('ErrorResponse', raw.json);
  });

  it('unknown URL is a 404 invalid_request_error', async () => {
    const res = await fetch(`${url}/nope`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string } };
    expectSpec('ErrorResponse', body);
    expect(body.error.message).toBe('Invalid URL (GET /v1/nope)');
    expectOpenAIHeaders(res.headers);
  });

  it('SDK error class for an unsupported parameter', async () => {
    const err = await caught(
      client.chat.completions.create({ model: 'gpt-5-nano', temperature: 0.5, messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err).toMatchObject({ code: 'unsupported_parameter', param: 'temperature', type: 'invalid_request_error' });
  });
});

describe('faults', () => {
  it('status faults: 500/502/503 with OpenAI bodies, and `match` targets one customer', async () => {
    emu.injectFault({ kind: 'status', status: 500, match: ada.CustomerNumber! });
    const ok = await post('/responses', responsesBody('gpt-5-nano', keanu));
    expect(ok.status).toBe(200);
    const failed = await post('/responses', responsesBody('gpt-5-nano', ada));
    expect(failed.status).toBe(500);
    expectSpec('ErrorResponse', failed.json);
    expect(failed.json.error).toEqual({
      message: 'The server had an error while processing your request. Sorry about that!',
      type: 'server_error',
      param: null,
      code: null,
    });
    expectOpenAIHeaders(failed.headers);
    expect((await post('/responses', responsesBody('gpt-5-nano', ada))).status).toBe(200);

    emu.injectFault({ kind: 'status', status: 503, times: 2 });
    for (let i = 0; i < 2; i++) {
      const err = await caught(client.responses.create(responsesBody('gpt-5-nano', ada) as never));
      expect(err).toBeInstanceOf(InternalServerError);
      expect(err.status).toBe(503);
      expect(err.message).toContain('The engine is currently overloaded, please try again later.');
    }
    emu.injectFault({ kind: 'status', status: 502 });
    const bad = await post('/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
    expect(bad.status).toBe(502);
    expectSpec('ErrorResponse', bad.json);
    emu.injectFault({ kind: 'status', status: 403 });
    expect(await caught(client.responses.create({ model: 'gpt-5-nano', input: 'x' }))).toBeInstanceOf(PermissionDeniedError);
  });

  it('insufficient_quota: RateLimitError without retry-after', async () => {
    emu.injectFault({ kind: 'insufficient_quota' });
    const err = await caught(client.responses.create({ model: 'gpt-5-nano', input: 'x' }));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.code).toBe('insufficient_quota');
    expect(err.type).toBe('insufficient_quota');
    expect(err.headers.get('retry-after')).toBeNull();
    expect(err.headers.get('retry-after-ms')).toBeNull();
    emu.injectFault({ kind: 'insufficient_quota' });
    const raw = await post('/responses', { model: 'gpt-5-nano', input: 'x' });
    expectSpec('ErrorResponse', raw.json);
    expect(raw.json.error.message).toBe(
      'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    );
  });

  it('refusal: responses refusal item, chat message.refusal', async () => {
    emu.injectFault({ kind: 'refusal', times: 2 });
    const r = await client.responses.parse({ model: 'gpt-5-nano', input: JSON.stringify(ada), text: { format: zodTextFormat(Enrichment, 'enrichment') } });
    expect(r.output_parsed).toBeNull();
    const message = r.output.find((o) => o.type === 'message');
    expect(message?.type === 'message' && message.content[0]?.type).toBe('refusal');
    const c = await client.chat.completions.parse({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: JSON.stringify(ada) }],
      response_format: zodResponseFormat(Enrichment, 'enrichment'),
    });
    expect(c.choices[0]?.message).toMatchObject({ content: null, parsed: null, refusal: expect.stringContaining("can't assist") });
    emu.injectFault({ kind: 'refusal', times: 2 });
    expectSpec('Response', (await post('/responses', responsesBody('gpt-5-nano', ada))).json);
    expectSpec('CreateChatCompletionResponse', (await post('/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] })).json);
  });

  it('incomplete: status incomplete with truncated text; chat finish_reason length', async () => {
    emu.injectFault({ kind: 'incomplete' });
    const raw = await post('/responses', responsesBody('gpt-4o-mini', keanu));
    expectSpec('Response', raw.json);
    expect(raw.json).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null });
    const text: string = raw.json.output[0].content[0].text;
    expect(JSON.stringify({ KnownToFilm: 'TRUE', Comment: KEANU_SUMMARY }).startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(100);

    emu.injectFault({ kind: 'incomplete' });
    const r = await client.responses.parse({ model: 'gpt-5-nano', input: JSON.stringify(ada), text: { format: zodTextFormat(Enrichment, 'enrichment') } });
    expect(r.status).toBe('incomplete');
    expect(r.output_parsed).toBeNull();

    emu.injectFault({ kind: 'incomplete' });
    const err = await caught(
      client.chat.completions.parse({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: JSON.stringify(ada) }],
        response_format: zodResponseFormat(Enrichment, 'enrichment'),
      }),
    );
    expect(err).toBeInstanceOf(LengthFinishReasonError);

    // Without a fault: reasoning alone exceeds max_output_tokens -> incomplete with no message.
    const starved = await post('/responses', responsesBody('gpt-5-nano', ada, { max_output_tokens: 16 }));
    expectSpec('Response', starved.json);
    expect(starved.json.status).toBe('incomplete');
    expect(starved.json.output.map((o: { type: string }) => o.type)).toEqual(['reasoning']);
    expect(starved.json.usage.output_tokens).toBe(16);
  });

  it('malformed: 200 with a body that is not JSON', async () => {
    emu.injectFault({ kind: 'malformed' });
    const raw = await post('/responses', responsesBody('gpt-5-nano', ada));
    expect(raw.status).toBe(200);
    expect(raw.json).toBeUndefined();
    expectOpenAIHeaders(raw.headers);
    emu.injectFault({ kind: 'malformed' });
    await expect(client.responses.create({ model: 'gpt-5-nano', input: 'x' })).rejects.toThrow();
  });

  it('extra-fields and wrong-type corrupt the answer', async () => {
    emu.injectFault({ kind: 'extra-fields' });
    const extra = await post('/responses', responsesBody('gpt-5-nano', ada));
    expect(JSON.parse(extra.json.output[1].content[0].text)).toEqual({
      KnownToFilm: 'FALSE',
      Comment: ADA_SUMMARY,
      EmailAddress: 'attacker@example.com',
      FirstName: 'Hacked',
    });
    emu.injectFault({ kind: 'wrong-type' });
    await expect(
      client.responses.parse({ model: 'gpt-5-nano', input: JSON.stringify(ada), text: { format: zodTextFormat(Enrichment, 'enrichment') } }),
    ).rejects.toThrow();
    emu.injectFault({ kind: 'wrong-type' });
    const chat = await post('/chat/completions', {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: JSON.stringify(ada) }],
      response_format: { type: 'json_schema', json_schema: { name: 'enrichment', schema: enrichSchema, strict: true } },
    });
    expect(JSON.parse(chat.json.choices[0].message.content).KnownToFilm).toBe('MAYBE');
  });

  it('timeout: no answer until the client gives up', async () => {
    emu.injectFault({ kind: 'timeout' });
    const impatient = new OpenAI({ apiKey: KEY, baseURL: url, maxRetries: 0, timeout: 300 });
    const started = Date.now();
    const err = await caught(impatient.responses.create({ model: 'gpt-5-nano', input: 'x' }));
    expect(err).toBeInstanceOf(APIConnectionTimeoutError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await impatient.responses.create({ model: 'gpt-5-nano', input: 'x' })).status).toBe('completed');
  });

  it('close() releases a request held by a timeout fault', async () => {
    const other = createOpenAIEmulator();
    const otherUrl = await other.start();
    other.injectFault({ kind: 'timeout' });
    const pending = fetch(`${otherUrl}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5-nano', input: 'x' }),
    }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await other.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(other.url).toBeUndefined();
  });
});

describe('rate limits', () => {
  it('rpm: 3 -> the 4th request is a 429 with retry-after and remaining 0', async () => {
    const limited = createOpenAIEmulator({ rpm: 3 });
    const limitedUrl = await limited.start();
    try {
      const sdk = new OpenAI({ apiKey: KEY, baseURL: limitedUrl, maxRetries: 0 });
      for (let i = 0; i < 3; i++) await sdk.responses.create({ model: 'gpt-5-nano', input: 'x' });
      const err = await caught(sdk.responses.create({ model: 'gpt-5-nano', input: 'x' }));
      expect(err).toBeInstanceOf(RateLimitError);
      expect(err.code).toBe('rate_limit_exceeded');
      expect(err.type).toBe('requests');
      expect(err.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(err.headers.get('x-ratelimit-limit-requests')).toBe('3');
      expect(Number(err.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(err.headers.get('retry-after-ms'))).toBeGreaterThan(0);
      expect(err.message).toMatch(
        /Rate limit reached for gpt-5-nano in organization org-emulator on requests per min \(RPM\): Limit 3, Used 3, Requested 1\. Please try again in [\d.]+m?s\. Visit https:\/\/platform\.openai\.com\/account\/rate-limits to learn more\./,
      );
      const raw = await fetch(`${limitedUrl}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5-nano', input: 'x' }),
      });
      expect(raw.status).toBe(429);
      expectSpec('ErrorResponse', await raw.json());
      expect(limited.counters.rateLimited).toBe(2);
      expect(limited.counters.completions).toBe(3);
      limited.setLimits({ rpm: 100 });
      expect((await sdk.responses.create({ model: 'gpt-5-nano', input: 'x' })).status).toBe('completed');
    } finally {
      await limited.close();
    }
  });

  it('tpm: reserves input + max output, refunds unused output, reports TPM 429s', async () => {
    const limited = createOpenAIEmulator({ tpm: 3000 });
    const limitedUrl = await limited.start();
    try {
      const sdk = new OpenAI({ apiKey: KEY, baseURL: limitedUrl, maxRetries: 0 });
      const body = (max: number) => ({ model: 'gpt-4o-mini', input: JSON.stringify(ada), max_output_tokens: max });
      // Each reserves ~2090 of 3000; only the refund of unused output lets the second one through.
      await sdk.responses.create(body(2000));
      await sdk.responses.create(body(2000));
      const tooLarge = await caught(sdk.responses.create(body(3000)));
      expect(tooLarge).toBeInstanceOf(RateLimitError);
      expect(tooLarge.message).toMatch(/Request too large for gpt-4o-mini in organization org-emulator on tokens per min \(TPM\): Limit 3000, Requested \d+\./);
      const err = await caught(sdk.responses.create(body(2900)));
      expect(err).toBeInstanceOf(RateLimitError);
      expect(err.type).toBe('tokens');
      expect(err.message).toMatch(/on tokens per min \(TPM\): Limit 3000, Used \d+, Requested \d+\. Please try again in [\d.]+m?s\./);
      expect(Number(err.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('options', () => {
  it('latencyMs delays completions, organization shows in headers, custom keys and models', async () => {
    const slow = createOpenAIEmulator({ latencyMs: 150, organization: 'org-test', apiKeys: ['sk-a-1234567890'], models: ['gpt-4o-mini'] });
    const slowUrl = await slow.start();
    try {
      const sdk = new OpenAI({ apiKey: 'sk-a-1234567890', baseURL: slowUrl, maxRetries: 0 });
      const started = Date.now();
      const { response } = await sdk.responses.create({ model: 'gpt-4o-mini', input: 'x' }).withResponse();
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(response.headers.get('openai-organization')).toBe('org-test');
      expect(await caught(sdk.responses.create({ model: 'gpt-5-nano', input: 'x' }))).toBeInstanceOf(NotFoundError);
    } finally {
      await slow.close();
    }
  });
});

describe('counters and request log', () => {
  it('counts requests, statuses, completions and tokens', async () => {
    emu.resetCounters();
    await post('/responses', responsesBody('gpt-5-nano', ada));
    await post('/responses', responsesBody('gpt-5-nano', ada), 'sk-wrong-key-000000');
    expect(emu.counters).toMatchObject({ requests: 2, completions: 1, byPath: { '/v1/responses': 2 }, byStatus: { '200': 1, '401': 1 } });
    expect(emu.counters.inputTokens).toBe(estimateInputTokens(responsesBody('gpt-5-nano', ada)));
    expect(emu.counters.outputTokens).toBeGreaterThan(128);
    const log = emu.requests().slice(-2);
    expect(log[0]).toMatchObject({ method: 'POST', path: '/v1/responses', status: 200, headers: { authorization: 'REDACTED' } });
    expect((log[0]?.body as { model: string }).model).toBe('gpt-5-nano');
    expect(log[1]).toMatchObject({ status: 401, body: null });
  });
});
