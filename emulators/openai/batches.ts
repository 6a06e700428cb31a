/**
 * Batch API: POST /v1/batches, GET /v1/batches, GET /v1/batches/:id, POST /v1/batches/:id/cancel, and the
 * lifecycle validating -> in_progress -> finalizing -> completed (or failed / expired / cancelling ->
 * cancelled) on timers. Each input line is answered by the same CompletionEngine as the synchronous
 * endpoints (validation, answers, usage, injected faults), without the synchronous RPM/TPM buckets.
 * Output and error files (purpose 'batch_output') list lines in a hash order, not the input order.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { COMPLETION_PATHS, type CompletionEngine, type EngineOutcome } from './engine.js';
import { ApiError, errors } from './errors.js';
import { cursorPage, intQuery, type FileStore } from './files.js';
import { newRequestId } from './shapes.js';
import type { BatchControl, BatchOptions, OpenAICounters } from './types.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export const BATCH_DEFAULTS: Required<BatchOptions> = {
  validatingMs: 1000,
  msPerLine: 50,
  finalizingMs: 1000,
  cancellingMs: 500,
  completionWindowMs: 24 * 3600 * 1000,
  maxLinesPerFile: 50_000,
  maxFileBytes: 200 * 1024 * 1024,
};

/** `--batch-speed fast`: batches end in about a second. */
export const BATCH_FAST = { validatingMs: 200, msPerLine: 0, finalizingMs: 200, cancellingMs: 200 } as const;

/** Endpoints OpenAI accepts for batches (spec CreateBatchRequest.endpoint). */
export const BATCH_ENDPOINTS = [
  '/v1/responses',
  '/v1/chat/completions',
  '/v1/embeddings',
  '/v1/completions',
  '/v1/moderations',
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/videos',
];
/** The subset the emulator can run. */
export const EMULATED_BATCH_ENDPOINTS = Object.keys(COMPLETION_PATHS);
/** At most this many entries in a failed batch's errors.data. */
export const MAX_REPORTED_BATCH_ERRORS = 100;
/** Lines processed per timer tick when msPerLine is 0. */
const CHUNK_WHEN_UNTIMED = 500;
/** setTimeout's maximum; longer completion windows never expire. */
const MAX_TIMER_MS = 2_147_483_647;

export type BatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** The spec's BatchError. */
export interface BatchError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface BatchInputLine {
  /** 1-based line number in the input file. */
  line: number;
  customId: string;
  body: Json;
  /** The line's raw text (faults' `match` is tested against it). */
  raw: string;
}

export type ParsedBatchInput = { ok: true; lines: BatchInputLine[]; model: string | undefined } | { ok: false; errors: BatchError[] };

const lineError = (code: string, message: string, param: string | null, line: number | null): BatchError => ({ code, message, param, line });

/**
 * Checks an input file the way the batch 'validating' step does: size and line limits, JSONL, the
 * input line format {custom_id, method:'POST', url, body}, unique custom_id, url = endpoint, one model.
 */
export function parseBatchInput(
  content: Buffer,
  endpoint: string,
  limits: { maxLinesPerFile: number; maxFileBytes: number },
): ParsedBatchInput {
  if (content.length > limits.maxFileBytes) {
    return {
      ok: false,
      errors: [
        lineError(
          'file_too_large',
          `The input file is ${content.length} bytes; a batch input file can be at most ${limits.maxFileBytes} bytes.`,
          'input_file_id',
          null,
        ),
      ],
    };
  }
  const rawLines = content.toString('utf8').split('\n');
  const numbered = rawLines
    .map((text, i) => ({ text: text.endsWith('\r') ? text.slice(0, -1) : text, line: i + 1 }))
    .filter((l) => l.text.trim() !== '');
  if (numbered.length === 0) {
    return { ok: false, errors: [lineError('empty_file', 'The input file is empty: it contains no requests.', 'input_file_id', null)] };
  }
  if (numbered.length > limits.maxLinesPerFile) {
    return {
      ok: false,
      errors: [
        lineError(
          'too_many_requests',
          `The input file contains ${numbered.length} requests; a batch can contain at most ${limits.maxLinesPerFile} requests.`,
          'input_file_id',
          null,
        ),
      ],
    };
  }

  const found: BatchError[] = [];
  const lines: BatchInputLine[] = [];
  const seen = new Map<string, number>();
  let model: string | undefined;
  let modelLine = 0;
  for (const { text, line } of numbered) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      found.push(lineError('invalid_json_line', 'This line is not parseable as valid JSON.', null, line));
      continue;
    }
    if (!isRecord(parsed)) {
      found.push(lineError('invalid_json_line', 'This line is not a JSON object.', null, line));
      continue;
    }
    const { custom_id: customId, method, url, body } = parsed;
    let bad: BatchError | undefined;
    if (customId === undefined || customId === null) bad = lineError('missing_required_parameter', "Missing required parameter: 'custom_id'.", 'custom_id', line);
    else if (typeof customId !== 'string') bad = lineError('invalid_type', "Invalid type for 'custom_id': expected a string.", 'custom_id', line);
    else if (method === undefined || method === null) bad = lineError('missing_required_parameter', "Missing required parameter: 'method'.", 'method', line);
    else if (method !== 'POST') bad = lineError('invalid_value', `Invalid value: '${String(method)}'. Supported values are: 'POST'.`, 'method', line);
    else if (url === undefined || url === null) bad = lineError('missing_required_parameter', "Missing required parameter: 'url'.", 'url', line);
    else if (url !== endpoint) {
      bad = lineError(
        'mismatched_url',
        `The provided url '${String(url)}' does not match the batch endpoint '${endpoint}'. Every request in a batch must use the batch's endpoint.`,
        'url',
        line,
      );
    } else if (body === undefined || body === null) bad = lineError('missing_required_parameter', "Missing required parameter: 'body'.", 'body', line);
    else if (!isRecord(body)) bad = lineError('invalid_type', "Invalid type for 'body': expected an object.", 'body', line);
    else if (seen.has(customId)) {
      bad = lineError(
        'duplicate_custom_id',
        `The custom_id '${customId}' is a duplicate of the custom_id on line ${seen.get(customId)}. The custom_id must be unique for each request in a batch.`,
        'custom_id',
        line,
      );
    } else if (typeof body.model === 'string') {
      if (model === undefined) {
        model = body.model;
        modelLine = line;
      } else if (body.model !== model) {
        bad = lineError(
          'mismatched_model',
          `The model '${body.model}' does not match the model '${model}' of line ${modelLine}. All requests in a batch must use the same model.`,
          'body.model',
          line,
        );
      }
    }
    if (bad) {
      found.push(bad);
      continue;
    }
    seen.set(customId as string, line);
    lines.push({ line, customId: customId as string, body: body as Json, raw: text });
  }
  if (found.length > 0) return { ok: false, errors: found.slice(0, MAX_REPORTED_BATCH_ERRORS) };
  return { ok: true, lines, model };
}

interface ResultLine {
  customId: string;
  json: string;
}

type TimeField = 'in_progress_at' | 'finalizing_at' | 'completed_at' | 'failed_at' | 'expired_at' | 'cancelling_at' | 'cancelled_at';

interface BatchState {
  id: string;
  endpoint: string;
  inputFileId: string;
  createdAt: number;
  expiresAt: number;
  metadata: Record<string, string> | null;
  /** The key that created the batch (an injected 401 fault on a line names it). */
  apiKey: string;
  status: BatchStatus;
  model?: string;
  times: Partial<Record<TimeField, number>>;
  errors?: BatchError[];
  /** From batchControl.failNext(). */
  injectedFailure?: string;
  lines: BatchInputLine[];
  next: number;
  outputLines: ResultLine[];
  errorLines: ResultLine[];
  usage: { input: number; cached: number; output: number; reasoning: number };
  showUsage: boolean;
  outputFileId?: string;
  errorFileId?: string;
  timer?: NodeJS.Timeout;
  expiryTimer?: NodeJS.Timeout;
  paused: boolean;
  held?: () => void;
}

const TERMINAL: ReadonlySet<BatchStatus> = new Set(['failed', 'completed', 'expired', 'cancelled']);

function batchObject(b: BatchState): Json {
  const o: Json = { id: b.id, object: 'batch', endpoint: b.endpoint };
  if (b.model !== undefined) o.model = b.model;
  if (b.errors) o.errors = { object: 'list', data: b.errors };
  o.input_file_id = b.inputFileId;
  o.completion_window = '24h';
  o.status = b.status;
  if (b.outputFileId) o.output_file_id = b.outputFileId;
  if (b.errorFileId) o.error_file_id = b.errorFileId;
  o.created_at = b.createdAt;
  if (b.times.in_progress_at !== undefined) o.in_progress_at = b.times.in_progress_at;
  o.expires_at = b.expiresAt;
  for (const f of ['finalizing_at', 'completed_at', 'failed_at', 'expired_at', 'cancelling_at', 'cancelled_at'] as const) {
    if (b.times[f] !== undefined) o[f] = b.times[f];
  }
  o.request_counts = { total: b.lines.length, completed: b.outputLines.length, failed: b.errorLines.length };
  if (b.showUsage) {
    const u = b.usage;
    o.usage = {
      input_tokens: u.input,
      input_tokens_details: { cached_tokens: u.cached },
      output_tokens: u.output,
      output_tokens_details: { reasoning_tokens: u.reasoning },
      total_tokens: u.input + u.output,
    };
  }
  o.metadata = b.metadata;
  return o;
}

/** Deterministic, input-order-independent order of result lines. */
const orderKey = (customId: string): string => createHash('sha256').update(customId).digest('hex');

export interface BatchManagerDeps {
  store: FileStore;
  engine: CompletionEngine;
  counters: OpenAICounters;
  options: Required<BatchOptions>;
  /** A batch reached a final state (its webhook event; `at` is that state's unix time). */
  onFinished?: (batchId: string, status: 'completed' | 'failed' | 'expired' | 'cancelled', at: number) => void;
}

export class BatchManager {
  private readonly batches = new Map<string, BatchState>();
  private readonly failNextReasons: string[] = [];
  private closed = false;
  private pauseNew = false;

  constructor(private readonly deps: BatchManagerDeps) {}

  readonly control: BatchControl = {
    expireNow: (batchId) => {
      const b = this.batches.get(batchId);
      if (!b) throw new Error(`expireNow: no batch ${batchId}`);
      if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') this.finish(b, 'expired');
    },
    failNext: (reason) => {
      this.failNextReasons.push(reason ?? 'The batch failed (failure injected by the emulator).');
    },
    pause: (batchId) => {
      const b = this.batches.get(batchId);
      if (!b) throw new Error(`pause: no batch ${batchId}`);
      b.paused = true;
    },
    resume: (batchId) => {
      const b = this.batches.get(batchId);
      if (!b) throw new Error(`resume: no batch ${batchId}`);
      b.paused = false;
      const held = b.held;
      b.held = undefined;
      if (held) this.schedule(b, 0, held);
    },
    pauseNew: (on) => {
      this.pauseNew = on;
    },
  };

  /** Stops every timer; batches stay where they are. */
  close(): void {
    this.closed = true;
    for (const b of this.batches.values()) this.clearTimers(b);
  }

  create(raw: unknown, apiKey: string): Json {
    if (!isRecord(raw)) throw errors.invalidJsonBody();
    const allowed = new Set(['input_file_id', 'endpoint', 'completion_window', 'metadata', 'output_expires_after']);
    for (const k of Object.keys(raw)) if (!allowed.has(k)) throw errors.unknownParameter(k);
    const { input_file_id: inputFileId, endpoint, completion_window: window, metadata } = raw;

    if (inputFileId === undefined || inputFileId === null) throw errors.missingParameter('input_file_id');
    if (typeof inputFileId !== 'string') throw errors.invalidType('input_file_id', 'a string', inputFileId);
    if (endpoint === undefined || endpoint === null) throw errors.missingParameter('endpoint');
    if (typeof endpoint !== 'string' || !BATCH_ENDPOINTS.includes(endpoint)) throw errors.invalidValue('endpoint', endpoint, BATCH_ENDPOINTS);
    if (!EMULATED_BATCH_ENDPOINTS.includes(endpoint)) {
      throw errors.badRequest(
        `The endpoint '${endpoint}' is not emulated: this emulator runs batches for ${EMULATED_BATCH_ENDPOINTS.map((e) => `'${e}'`).join(' and ')} only.`,
        'endpoint',
        'unsupported_value',
      );
    }
    if (window === undefined || window === null) throw errors.missingParameter('completion_window');
    if (window !== '24h') throw errors.invalidValue('completion_window', window, ['24h']);
    let meta: Record<string, string> | null = null;
    if (metadata !== undefined && metadata !== null) {
      if (!isRecord(metadata)) throw errors.invalidType('metadata', 'an object', metadata);
      const entries = Object.entries(metadata);
      if (entries.length > 16) throw errors.badRequest("Invalid 'metadata': too many properties. Expected an object with at most 16 properties.", 'metadata', 'object_above_max_properties');
      for (const [k, v] of entries) if (typeof v !== 'string') throw errors.invalidType(`metadata.${k}`, 'a string', v);
      meta = Object.fromEntries(entries) as Record<string, string>;
    }
    const file = this.deps.store.require(inputFileId, 'input_file_id');
    if (file.meta.purpose !== 'batch') {
      throw errors.badRequest(`The input file ${inputFileId} has purpose '${file.meta.purpose}'; batch input files must be uploaded with purpose 'batch'.`, 'input_file_id', 'invalid_value');
    }

    const { options } = this.deps;
    const createdAt = nowSeconds();
    const b: BatchState = {
      id: `batch_${hex(16)}`,
      endpoint,
      inputFileId,
      createdAt,
      expiresAt: createdAt + Math.ceil(options.completionWindowMs / 1000),
      metadata: meta,
      apiKey,
      status: 'validating',
      times: {},
      lines: [],
      next: 0,
      outputLines: [],
      errorLines: [],
      usage: { input: 0, cached: 0, output: 0, reasoning: 0 },
      showUsage: false,
      paused: this.pauseNew,
    };
    const injected = this.failNextReasons.shift();
    if (injected !== undefined) b.injectedFailure = injected;
    this.batches.set(b.id, b);
    this.deps.counters.batchesCreated += 1;
    this.schedule(b, options.validatingMs, () => this.validate(b));
    if (!this.closed && options.completionWindowMs <= MAX_TIMER_MS) {
      b.expiryTimer = setTimeout(() => {
        b.expiryTimer = undefined;
        if (!this.closed && (b.status === 'validating' || b.status === 'in_progress')) this.finish(b, 'expired');
      }, Math.max(0, options.completionWindowMs));
      b.expiryTimer.unref();
    }
    return batchObject(b);
  }

  retrieve(id: string): Json {
    return batchObject(this.require(id));
  }

  cancel(id: string): Json {
    const b = this.require(id);
    if (b.status === 'validating' || b.status === 'in_progress' || b.status === 'finalizing') {
      this.clearTimers(b);
      b.paused = false;
      b.held = undefined;
      b.status = 'cancelling';
      b.times.cancelling_at = nowSeconds();
      this.schedule(b, this.deps.options.cancellingMs, () => this.finish(b, 'cancelled'));
    } else if (b.status !== 'cancelling' && b.status !== 'cancelled') {
      throw errors.badRequest(`Cannot cancel a batch with status '${b.status}'.`, null, 'invalid_batch_status');
    }
    return batchObject(b);
  }

  /** Newest first, like OpenAI. */
  list(after: unknown, limit: number): Json {
    const all = [...this.batches.values()].reverse().map(batchObject) as Array<Json & { id: string }>;
    return cursorPage(all, after, limit);
  }

  private require(id: string): BatchState {
    const b = this.batches.get(id);
    if (!b) throw errors.noSuchBatch(id);
    return b;
  }

  private clearTimers(b: BatchState): void {
    if (b.timer) clearTimeout(b.timer);
    if (b.expiryTimer) clearTimeout(b.expiryTimer);
    b.timer = undefined;
    b.expiryTimer = undefined;
  }

  private schedule(b: BatchState, ms: number, step: () => void): void {
    if (this.closed) return;
    if (b.timer) clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      b.timer = undefined;
      if (this.closed) return;
      if (b.paused) {
        b.held = step;
        return;
      }
      step();
    }, Math.max(0, ms));
    b.timer.unref();
  }

  private fail(b: BatchState, errs: BatchError[]): void {
    this.clearTimers(b);
    b.status = 'failed';
    b.errors = errs;
    b.times.failed_at = nowSeconds();
    this.deps.onFinished?.(b.id, 'failed', b.times.failed_at);
  }

  private validate(b: BatchState): void {
    if (b.status !== 'validating') return;
    if (b.injectedFailure !== undefined) {
      this.fail(b, [lineError('batch_failed', b.injectedFailure, null, null)]);
      return;
    }
    const file = this.deps.store.get(b.inputFileId);
    if (!file) {
      this.fail(b, [lineError('file_not_found', `The input file ${b.inputFileId} was deleted before the batch was validated.`, 'input_file_id', null)]);
      return;
    }
    const parsed = parseBatchInput(file.content, b.endpoint, this.deps.options);
    if (!parsed.ok) {
      this.fail(b, parsed.errors);
      return;
    }
    b.lines = parsed.lines;
    if (parsed.model !== undefined) b.model = parsed.model;
    b.status = 'in_progress';
    b.times.in_progress_at = nowSeconds();
    this.schedule(b, this.deps.options.msPerLine, () => this.processStep(b));
  }

  private processStep(b: BatchState): void {
    if (b.status !== 'in_progress') return;
    const { msPerLine, finalizingMs } = this.deps.options;
    const chunk = msPerLine <= 0 ? CHUNK_WHEN_UNTIMED : 1;
    for (let i = 0; i < chunk && b.next < b.lines.length; i++) {
      const line = b.lines[b.next];
      b.next += 1;
      if (line) this.processLine(b, line);
    }
    if (b.next < b.lines.length) {
      this.schedule(b, msPerLine, () => this.processStep(b));
      return;
    }
    b.status = 'finalizing';
    b.times.finalizing_at = nowSeconds();
    this.schedule(b, finalizingMs, () => this.finish(b, 'completed'));
  }

  private processLine(b: BatchState, line: BatchInputLine): void {
    let outcome: EngineOutcome;
    try {
      outcome = this.deps.engine.run(b.endpoint, line.body, [line.raw, JSON.stringify(line.body)], b.apiKey);
    } catch {
      const e = new ApiError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
      outcome = { kind: 'http', status: 500, body: e.toBody() };
    }
    this.deps.counters.batchLinesProcessed += 1;
    const id = `batch_req_${hex(16)}`;
    if (outcome.kind === 'no-response') {
      const entry = { id, custom_id: line.customId, response: null, error: { code: outcome.code, message: outcome.message } };
      b.errorLines.push({ customId: line.customId, json: JSON.stringify(entry) });
      return;
    }
    const entry = {
      id,
      custom_id: line.customId,
      response: { status_code: outcome.status, request_id: newRequestId(), body: outcome.body },
      error: null,
    };
    (outcome.status === 200 ? b.outputLines : b.errorLines).push({ customId: line.customId, json: JSON.stringify(entry) });
    const c = outcome.completion;
    if (c) {
      b.usage.input += c.inputTokens;
      b.usage.cached += c.cachedTokens;
      b.usage.output += c.outputTokens;
      b.usage.reasoning += c.reasoningTokens;
    }
  }

  /** Ends a batch: expired lines into the error file, output/error files written, the final status set. */
  private finish(b: BatchState, status: 'completed' | 'expired' | 'cancelled'): void {
    this.clearTimers(b);
    b.paused = false;
    b.held = undefined;
    if (status === 'expired') {
      for (; b.next < b.lines.length; b.next++) {
        const line = b.lines[b.next];
        if (!line) continue;
        const entry = {
          id: `batch_req_${hex(16)}`,
          custom_id: line.customId,
          response: null,
          error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
        };
        b.errorLines.push({ customId: line.customId, json: JSON.stringify(entry) });
      }
    }
    const write = (lines: ResultLine[], kind: 'output' | 'error'): string | undefined => {
      if (lines.length === 0) return undefined;
      const sorted = [...lines].sort((x, y) => (orderKey(x.customId) < orderKey(y.customId) ? -1 : 1));
      const content = Buffer.from(sorted.map((l) => l.json).join('\n') + '\n');
      return this.deps.store.add(content, `${b.id}_${kind}.jsonl`, 'batch_output').id;
    };
    const outputFileId = write(b.outputLines, 'output');
    const errorFileId = write(b.errorLines, 'error');
    if (outputFileId) b.outputFileId = outputFileId;
    if (errorFileId) b.errorFileId = errorFileId;
    b.status = status;
    const at = nowSeconds();
    b.times[status === 'completed' ? 'completed_at' : status === 'expired' ? 'expired_at' : 'cancelled_at'] = at;
    b.showUsage = true;
    this.deps.onFinished?.(b.id, status, at);
  }
}

function bearerKey(req: FastifyRequest): string {
  const auth = req.headers.authorization;
  return (typeof auth === 'string' ? /^Bearer\s+(.*)$/i.exec(auth.trim())?.[1]?.trim() : undefined) ?? '';
}

export interface BatchRouteHooks {
  /** Decides what a successful create answers (by default the batch object); app.ts uses it for the
   * `batchCreate: 'lost'` setting, which keeps the batch and withholds the answer. */
  created?: (req: FastifyRequest, reply: FastifyReply, batch: Json) => Promise<unknown>;
}

export function registerBatchRoutes(app: FastifyInstance, manager: BatchManager, hooks: BatchRouteHooks = {}): void {
  app.post('/v1/batches', async (req, reply) => {
    const batch = manager.create(req.body, bearerKey(req));
    return hooks.created ? hooks.created(req, reply, batch) : batch;
  });
  app.get<{ Querystring: Record<string, string | undefined> }>('/v1/batches', async (req) =>
    manager.list(req.query.after, intQuery(req.query.limit, 'limit', 1, 100, 20)),
  );
  app.get<{ Params: { id: string } }>('/v1/batches/:id', async (req) => manager.retrieve(req.params.id));
  app.post<{ Params: { id: string } }>('/v1/batches/:id/cancel', async (req) => manager.cancel(req.params.id));
}
