/**
 * The emulator's HTTP surface (Fastify): auth, OpenAI headers on every response, rate limits, faults,
 * counters and the request log. Endpoints: POST /v1/responses, POST /v1/chat/completions,
 * GET /v1/models, GET /v1/models/:id, the Files API (files.ts), the Batch API (batches.ts; a create's
 * answer can be withheld by the batchCreate setting) and the control API under /__emulator/
 * (control-api.ts), which gets the auth and nothing else.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { controlUrlOf, isControlPath } from '../control-path.js';
import { BATCH_DEFAULTS, BatchManager, registerBatchRoutes } from './batches.js';
import { registerControlApi } from './control-api.js';
import { createCompletionEngine, type CompletionApi } from './engine.js';
import { ApiError, errors } from './errors.js';
import { FaultQueue } from './faults.js';
import { DEFAULT_MAX_UPLOAD_BYTES, FileStore, registerFileRoutes } from './files.js';
import { RateLimiter } from './rate-limits.js';
import { applySettings, currentSettings, type LiveKnobs } from './settings.js';
import { modelList, modelObject, newRequestId } from './shapes.js';
import { estimateInputTokens, PromptCache } from './tokens.js';
import type { OpenAICounters, OpenAIEmulator, OpenAIEmulatorOptions, RecordedRequest } from './types.js';
import { webhookConfigFromOptions } from './webhook-config.js';
import { WebhookSender } from './webhook-sender.js';

export const DEFAULT_API_KEY = 'sk-emulator-key';
export const DEFAULT_MODELS = ['gpt-5-nano', 'gpt-5-mini', 'gpt-4o-mini', 'gpt-4.1-mini'];
/** Output tokens reserved against TPM when the request sets no max_output_tokens / max_completion_tokens. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const MAX_RECORDED = 1000;

interface RequestState {
  requestId: string;
  startedAt: number;
  rawBody?: string;
  entry: RecordedRequest;
}

const emptyCounters = (): OpenAICounters => ({
  requests: 0,
  byPath: {},
  byStatus: {},
  completions: 0,
  rateLimited: 0,
  flexUnavailable: 0,
  hung: 0,
  aborted: 0,
  inputTokens: 0,
  cachedTokens: 0,
  outputTokens: 0,
  filesUploaded: 0,
  batchesCreated: 0,
  batchLinesProcessed: 0,
  webhookAttempts: 0,
  webhooksDelivered: 0,
  webhooksFailed: 0,
});

function recordHeaders(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = k === 'authorization' ? 'REDACTED' : Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Drops undefined values so they do not override defaults when spread. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createOpenAIEmulator(options: OpenAIEmulatorOptions = {}): OpenAIEmulator {
  const apiKeys = options.apiKeys ?? [DEFAULT_API_KEY];
  const models = options.models ?? DEFAULT_MODELS;
  const organization = options.organization ?? 'org-emulator';
  const limiter = new RateLimiter(options.rpm ?? 10_000, options.tpm ?? 10_000_000, organization);
  const cache = new PromptCache();
  const faults = new FaultQueue();
  const counters = emptyCounters();
  let recorded: RecordedRequest[] = [];
  const states = new WeakMap<FastifyRequest, RequestState>();
  const hanging = new Set<() => void>();
  let url: string | undefined;
  let controlUrl: string | undefined;
  /** Set by close(): connections it cuts are not client aborts. */
  let closing = false;
  const engine = createCompletionEngine({ models, faults, cache, limiter, counters });
  const store = new FileStore();
  const webhooks = new WebhookSender(webhookConfigFromOptions(options.webhook), counters);
  const knobs: LiveKnobs = {
    latencyMs: options.latencyMs ?? 0,
    flexLatencyMs: options.flexLatencyMs ?? 0,
    limiter,
    batch: { ...BATCH_DEFAULTS, ...definedOnly(options.batch ?? {}) },
    batchCreate: 'answer',
    webhook: webhooks.config,
  };
  const batches = new BatchManager({
    store,
    engine,
    counters,
    options: knobs.batch,
    onFinished: (id, status, at) => webhooks.emit(`batch.${status}`, id, at),
  });
  const resetCounters = (): void => {
    Object.assign(counters, emptyCounters());
  };

  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 64 * 1024 * 1024, forceCloseConnections: true });

  const parseJson = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const st = states.get(req);
    if (st) st.rawBody = text;
    try {
      done(null, JSON.parse(text));
    } catch {
      done(errors.invalidJsonBody());
    }
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);

  function authenticate(req: FastifyRequest): void {
    const auth = req.headers.authorization;
    const key = typeof auth === 'string' ? /^Bearer\s+(.*)$/i.exec(auth.trim())?.[1]?.trim() : undefined;
    if (!key) throw errors.noApiKey();
    if (!apiKeys.includes(key)) throw errors.invalidApiKey(key);
  }

  app.addHook('onRequest', async (req, reply) => {
    if (isControlPath(req.url)) return authenticate(req);
    const path = req.url.split('?')[0] ?? req.url;
    const entry: RecordedRequest = {
      requestId: newRequestId(),
      method: req.method,
      path,
      headers: recordHeaders(req),
      body: null,
      receivedAt: Date.now(),
    };
    states.set(req, { requestId: entry.requestId, startedAt: Date.now(), entry });
    recorded.push(entry);
    if (recorded.length > MAX_RECORDED) recorded = recorded.slice(-MAX_RECORDED);
    counters.requests += 1;
    counters.byPath[path] = (counters.byPath[path] ?? 0) + 1;
    // The socket closed before the answer was written: the client gave up (hang/timeout fault, latency).
    reply.raw.once('close', () => {
      if (!reply.raw.writableEnded && !closing) counters.aborted += 1;
    });
    authenticate(req);
  });

  app.addHook('preHandler', async (req) => {
    const st = states.get(req);
    if (st) st.entry.body = req.body ?? null;
  });

  app.addHook('onSend', async (req, reply, payload) => {
    if (isControlPath(req.url)) return payload;
    const st = states.get(req);
    if (st) {
      reply.header('x-request-id', st.requestId);
      reply.header('openai-processing-ms', String(Date.now() - st.startedAt));
      st.entry.status = reply.statusCode;
    }
    reply.header('openai-version', '2020-10-01');
    reply.header('openai-organization', organization);
    for (const [k, v] of Object.entries(limiter.headers())) reply.header(k, v);
    const status = String(reply.statusCode);
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
    if (reply.statusCode === 429) counters.rateLimited += 1;
    return payload;
  });

  app.setErrorHandler(async (err, _req, reply) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else {
      const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
      const message = err instanceof Error ? err.message : String(err);
      apiError =
        status < 500
          ? new ApiError(status === 415 ? 400 : status, 'invalid_request_error', message)
          : new ApiError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
    }
    for (const [k, v] of Object.entries(apiError.headers)) reply.header(k, v);
    return reply.code(apiError.status).type('application/json; charset=utf-8').send(apiError.toBody());
  });

  app.setNotFoundHandler(async (req) => {
    throw errors.invalidUrl(req.method, req.url.split('?')[0] ?? req.url);
  });

  app.get('/v1/models', async () => modelList(models));
  app.get<{ Params: { id: string } }>('/v1/models/:id', async (req) => {
    if (!models.includes(req.params.id)) throw errors.modelNotFound(req.params.id);
    return modelObject(req.params.id);
  });

  /** The 'timeout' and 'hang' faults and a lost batch create: never answer; resolve when the client disconnects or close() runs. */
  async function hang(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    reply.hijack();
    await new Promise<void>((resolve) => {
      const release = (): void => {
        hanging.delete(release);
        req.raw.socket?.destroy();
        resolve();
      };
      hanging.add(release);
      reply.raw.once('close', release);
    });
    return reply;
  }

  async function handleCompletion(api: CompletionApi, req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const auth = String(req.headers.authorization ?? '');
    const prepared = engine.prepare(api, req.body, [states.get(req)?.rawBody ?? '', JSON.stringify(req.body)], auth.replace(/^Bearer\s+/i, ''), true);
    if (prepared.fault?.kind === 'timeout') return hang(req, reply);
    if (prepared.fault?.kind === 'hang') {
      counters.hung += 1;
      return hang(req, reply);
    }

    const { request } = prepared;
    const reservedOutput = request.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    limiter.reserve(request.model, estimateInputTokens(request.body) + reservedOutput);
    // Flex is slower than the default tier: its own latency, so tests can make it so.
    const latencyMs = prepared.tier === 'flex' ? knobs.flexLatencyMs : knobs.latencyMs;
    if (latencyMs > 0) await sleep(latencyMs);

    const out = engine.produce(prepared);
    if (out.kind === 'malformed') {
      limiter.refund(reservedOutput);
      return reply.type('application/json').send(out.text);
    }
    limiter.refund(reservedOutput - out.completion.outputTokens);
    counters.completions += 1;
    return out.body;
  }

  app.post('/v1/responses', (req, reply) => handleCompletion('responses', req, reply));
  app.post('/v1/chat/completions', (req, reply) => handleCompletion('chat', req, reply));

  registerFileRoutes(app, {
    store,
    counters,
    maxUploadBytes: options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES,
    recordBody(req, body) {
      const st = states.get(req);
      if (st) st.entry.body = body;
    },
  });
  registerBatchRoutes(app, batches, {
    // batchCreate 'lost': the batch exists (created above, listed, running); only its answer is withheld.
    async created(req, reply, batch) {
      if (knobs.batchCreate !== 'lost') return batch;
      counters.hung += 1;
      return hang(req, reply);
    },
  });

  const emulator: OpenAIEmulator = {
    app,
    get url() {
      return url;
    },
    get controlUrl() {
      return controlUrl;
    },
    counters,
    async start(opts = {}) {
      const host = opts.host ?? '127.0.0.1';
      await app.listen({ host, port: opts.port ?? 0 });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port ?? 0;
      const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      url = `http://${shown}:${port}/v1`;
      controlUrl = controlUrlOf(url);
      return url;
    },
    async close() {
      closing = true;
      for (const release of [...hanging]) release();
      batches.close();
      webhooks.close();
      await app.close();
      url = undefined;
      controlUrl = undefined;
    },
    resetCounters,
    injectFault(f) {
      faults.add(f);
    },
    clearFaults() {
      faults.clear();
    },
    pendingFaults: () => faults.list(),
    settings: () => currentSettings(knobs),
    updateSettings: (patch) => applySettings(knobs, patch),
    setLimits(l) {
      limiter.setLimits(l);
    },
    requests() {
      return recorded.map((r) => ({ ...r }));
    },
    batchControl: batches.control,
    webhooks: {
      deliveries: () => webhooks.deliveries(),
      send: (req) => webhooks.send(req),
      flush: () => webhooks.flush(),
    },
  };
  registerControlApi(app, emulator);
  return emulator;
}
