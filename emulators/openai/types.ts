/** Public types of the OpenAI emulator (see index.ts for the factory; webhooks: webhook-types.ts). */
import type { FastifyInstance } from 'fastify';
import type { WebhookControl, WebhookOptions, WebhookSettings, WebhookSettingsPatch } from './webhook-types.js';

export interface OpenAIEmulatorOptions {
  /** Accepted Bearer keys. Default ['sk-emulator-key']. */
  apiKeys?: string[];
  /** Models served by GET /v1/models and accepted by the completion endpoints. */
  models?: string[];
  /** Added to each completion (not to errors), default 0. */
  latencyMs?: number;
  /** Used instead of latencyMs for completions served with service_tier 'flex' (flex is slower), default 0. */
  flexLatencyMs?: number;
  /** Requests per minute, default 10000. */
  rpm?: number;
  /** Tokens per minute, default 10_000_000. */
  tpm?: number;
  /** Shown in openai-organization and in 429 messages, default 'org-emulator'. */
  organization?: string;
  /** Fastify logger on/off, default false. */
  logger?: boolean;
  /** Largest file POST /v1/files accepts, in bytes; default 512 MB (536_870_912). Larger -> 400 (413 if far larger). */
  maxUploadBytes?: number;
  /** Batch API timing and limits; shrink the times in tests. */
  batch?: BatchOptions;
  /** The webhook endpoint batch events are sent to (none by default). Invalid values throw at creation. */
  webhook?: WebhookOptions;
}

/** Batch API knobs. All durations are in milliseconds of wall-clock time. */
export interface BatchOptions {
  /** Time in 'validating' before the input file is checked, default 1000. */
  validatingMs?: number;
  /** Time per input line while 'in_progress', default 50 (0 = as fast as possible, in chunks). */
  msPerLine?: number;
  /** Time in 'finalizing' before the output files exist and the batch is 'completed', default 1000. */
  finalizingMs?: number;
  /** Time in 'cancelling' before 'cancelled', default 500. */
  cancellingMs?: number;
  /** The emulated '24h' completion window, from creation; default 86_400_000. Then unfinished batches expire. */
  completionWindowMs?: number;
  /** Most lines an input file may have, default 50_000; more -> the batch fails. */
  maxLinesPerFile?: number;
  /** Largest input file a batch accepts, default 200 MB (209_715_200); larger -> the batch fails. */
  maxFileBytes?: number;
}

/** Test controls for batches (emulator.batchControl). */
export interface BatchControl {
  /** Expires the batch now, as if its completion window had passed: processed lines go to the output/error
   * files, the rest to the error file with code 'batch_expired'. No-op on a finished batch; throws on an unknown id. */
  expireNow(batchId: string): void;
  /** The next created batch fails validation with this message (error code 'batch_failed'). */
  failNext(reason?: string): void;
  /** Holds a batch where it is (validating / in_progress / finalizing); the expiry timer keeps running. */
  pause(batchId: string): void;
  resume(batchId: string): void;
  /** While on, every batch created starts paused (held in 'validating' until resume()): a test that must
   * catch batches before they finish cannot lose that race on a slow machine. */
  pauseNew(on: boolean): void;
}

export type FaultStatus = 400 | 401 | 403 | 404 | 408 | 409 | 429 | 500 | 502 | 503;

interface FaultBase {
  /** How many matching requests the fault applies to, default 1. */
  times?: number;
  /** Applies only to requests whose raw (or re-serialized) body contains this substring. Batch input lines
   * are matched too (their raw JSONL line and their re-serialized body). */
  match?: string;
}

export type OpenAIFault =
  | (FaultBase & { kind: 'status'; status: FaultStatus })
  | (FaultBase & { kind: 'insufficient_quota' })
  | (FaultBase & { kind: 'timeout' })
  /** Like 'timeout' (accepted, never answered until the client aborts or the emulator closes), and
   * counted in `hung`: for tests that check the client aborts in-flight calls (e.g. on SIGTERM). */
  | (FaultBase & { kind: 'hang' })
  | (FaultBase & { kind: 'malformed' })
  | (FaultBase & { kind: 'refusal' })
  | (FaultBase & { kind: 'extra-fields' })
  | (FaultBase & { kind: 'wrong-type' })
  | (FaultBase & { kind: 'incomplete' })
  /** No flex capacity: a request sent with service_tier 'flex' gets OpenAI's 429 "Resource Unavailable"
   * (not charged: no tokens counted, not in `completions`); other requests pass it by, leaving it queued. */
  | (FaultBase & { kind: 'flex_unavailable' });

export interface OpenAICounters {
  /** Every HTTP request received (any path, any outcome) except control API calls (/__emulator/...). */
  requests: number;
  /** Keyed by URL path without query, e.g. '/v1/responses', '/v1/models/gpt-5-nano'. */
  byPath: Record<string, number>;
  /** Keyed by status code as a string, e.g. '200', '429'. */
  byStatus: Record<string, number>;
  /** 200 answers from /v1/responses and /v1/chat/completions (refusal/incomplete included, malformed not). */
  completions: number;
  /** Every 429 (rate_limit_exceeded, insufficient_quota and flex resource_unavailable). */
  rateLimited: number;
  /** 429 "Resource Unavailable" answers to flex requests (the flex_unavailable fault). */
  flexUnavailable: number;
  /** Requests held unanswered on purpose: by a 'hang' fault, or a POST /v1/batches whose answer the
   * `batchCreate: 'lost'` setting withholds (the batch was created). */
  hung: number;
  /** Requests whose client disconnected before the answer was sent (hung, timed out, or during latency);
   * not the ones close() cut off. */
  aborted: number;
  /** Sums of the usage reported in completion answers. */
  inputTokens: number;
  cachedTokens: number;
  outputTokens: number;
  /** Successful POST /v1/files uploads. */
  filesUploaded: number;
  /** Successful POST /v1/batches. */
  batchesCreated: number;
  /** Webhook POSTs made (every attempt, retries and manual sends included). */
  webhookAttempts: number;
  /** Webhook events the receiver acknowledged with a 2xx. */
  webhooksDelivered: number;
  /** Webhook events that ended without a 2xx (attempts used up, or a manual send without retry). */
  webhooksFailed: number;
  /** Batch input lines run through the completion engine (success or error; not expired/cancelled ones).
   * Their tokens are included in inputTokens / cachedTokens / outputTokens; they are not in `completions`. */
  batchLinesProcessed: number;
}

/** A queued fault and how many more matching requests it will hit. */
export interface PendingFault {
  fault: OpenAIFault;
  remaining: number;
}

/** Batch timings that can change while the emulator runs; they apply to timers started afterwards. */
export type BatchTimings = Pick<Required<BatchOptions>, 'validatingMs' | 'msPerLine' | 'finalizingMs' | 'cancellingMs'>;

/** What POST /v1/batches does with a batch it created: answer it, or lose the answer (see OpenAISettingsPatch). */
export type BatchCreateMode = 'answer' | 'lost';

/** The knobs that can change while the emulator runs (PATCH /__emulator/settings). */
export interface OpenAISettings {
  latencyMs: number;
  flexLatencyMs: number;
  rpm: number;
  tpm: number;
  batch: BatchTimings;
  batchCreate: BatchCreateMode;
  webhook: WebhookSettings;
}

export interface OpenAISettingsPatch {
  latencyMs?: number;
  /** The latency of completions served with service_tier 'flex' (instead of latencyMs). */
  flexLatencyMs?: number;
  /** Changing rpm or tpm refills both buckets (as setLimits does). */
  rpm?: number;
  tpm?: number;
  /** A preset for the batch timings: 'fast' (as `emulate --batch-speed fast`) or 'real' (the defaults);
   * fields in `batch` override it. */
  batchSpeed?: 'fast' | 'real';
  batch?: Partial<BatchTimings>;
  /** 'answer' (the default): POST /v1/batches answers as OpenAI does. 'lost': a valid create still makes
   * the batch (counted in batchesCreated, listed, run to the end) but its answer never comes: the request
   * is held like a 'hang' fault (counted in `hung`) until the client aborts or close() runs. Invalid
   * creates still get their 400/404. For tests of a client that dies, or times out, while the create's
   * answer is on its way. */
  batchCreate?: BatchCreateMode;
  /** The webhook endpoint; applies to events that start afterwards (retries keep their own). */
  webhook?: WebhookSettingsPatch;
}

export interface RecordedRequest {
  /** The x-request-id sent back. */
  requestId: string;
  method: string;
  /** URL path without query. */
  path: string;
  /** Lower-cased header names; authorization is 'REDACTED'. */
  headers: Record<string, string>;
  /** Parsed JSON body, or null (GET, unparseable, or rejected before parsing e.g. 401). */
  body: unknown;
  /** Response status, once sent (undefined while pending, e.g. a 'timeout' fault). */
  status?: number;
  /** Date.now() when received. */
  receivedAt: number;
}

export interface OpenAIEmulator {
  app: FastifyInstance;
  /** Listens (default 127.0.0.1, port 0) and returns the base URL ending in /v1. */
  start(opts?: { host?: string; port?: number }): Promise<string>;
  close(): Promise<void>;
  url: string | undefined;
  /** The control API (faults, counters, settings over HTTP), e.g. http://127.0.0.1:PORT/__emulator/; set by start(). */
  controlUrl: string | undefined;
  counters: OpenAICounters;
  resetCounters(): void;
  injectFault(f: OpenAIFault): void;
  clearFaults(): void;
  /** Queued faults with their remaining counts, oldest (first to match) first. */
  pendingFaults(): PendingFault[];
  /** The live knobs now in force. */
  settings(): OpenAISettings;
  /** Changes live knobs and returns the settings now in force. */
  updateSettings(patch: OpenAISettingsPatch): OpenAISettings;
  /** Changes the limits and refills both buckets to the new capacity. */
  setLimits(l: { rpm?: number; tpm?: number }): void;
  /** The last 1000 requests (control API calls excluded), oldest first. */
  requests(): RecordedRequest[];
  /** Batch API test controls. */
  batchControl: BatchControl;
  /** The webhooks sent: their deliveries, and sending one now. */
  webhooks: WebhookControl;
}
