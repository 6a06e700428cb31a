/**
 * The completion "engine" shared by the synchronous routes and the Batch API: request validation,
 * fault injection, answer generation and token counting, without HTTP and without rate limits (the
 * synchronous route reserves RPM/TPM itself between prepare() and produce()).
 */
import { complete, type AnswerFault, type Completion } from './completion.js';
import { ApiError, errors, statusFaultError } from './errors.js';
import type { FaultQueue } from './faults.js';
import type { RateLimiter } from './rate-limits.js';
import { parseChatRequest, parseResponsesRequest, type CompletionRequest } from './request.js';
import { servedTier, type ServedTier } from './service-tier.js';
import { chatCompletionObject, malformedBody, responseObject } from './shapes.js';
import type { PromptCache } from './tokens.js';
import type { OpenAICounters, OpenAIFault } from './types.js';

export type CompletionApi = 'responses' | 'chat';

/** The endpoints whose requests the engine answers, keyed by the batch / URL path. */
export const COMPLETION_PATHS: Record<string, CompletionApi> = {
  '/v1/responses': 'responses',
  '/v1/chat/completions': 'chat',
};

export interface Prepared {
  request: CompletionRequest;
  /** The injected fault this request consumed, if any. */
  fault: OpenAIFault | undefined;
  /** The tier the answer says it was served with (always 'default' for batch lines). */
  tier: ServedTier;
}

export type Produced = { kind: 'malformed'; text: string } | { kind: 'ok'; body: Record<string, unknown>; completion: Completion };

/** What one request turns into without HTTP: an HTTP-like answer, or a failure that has no HTTP status. */
export type EngineOutcome =
  | { kind: 'http'; status: number; body: unknown; completion?: Completion }
  | { kind: 'no-response'; code: string; message: string };

export interface CompletionEngine {
  /**
   * Validates the body (throws ApiError) and takes a matching fault; a status fault is thrown as its
   * ApiError. `sync`: a request to the synchronous endpoint, whose service_tier decides how it is served
   * (flex can be out of capacity); batch lines are not (`run()`).
   */
  prepare(api: CompletionApi, body: unknown, bodyTexts: string[], apiKey: string, sync?: boolean): Prepared;
  /** Generates the answer body and adds its usage to the token counters. */
  produce(p: Prepared): Produced;
  /**
   * (path, body) -> outcome, as the synchronous endpoint would answer it but without rate limits or
   * latency. A 'timeout' or 'hang' fault becomes a no-response outcome; 'malformed' a 200 whose body is the cut-off text.
   */
  run(path: string, body: unknown, bodyTexts: string[], apiKey: string): EngineOutcome;
}

export interface EngineDeps {
  models: readonly string[];
  faults: FaultQueue;
  cache: PromptCache;
  limiter: RateLimiter;
  counters: OpenAICounters;
}

export function createCompletionEngine(deps: EngineDeps): CompletionEngine {
  const { models, faults, cache, limiter, counters } = deps;

  function faultError(fault: OpenAIFault & { kind: 'status' | 'insufficient_quota' | 'flex_unavailable' }, model: string, apiKey: string): ApiError {
    if (fault.kind === 'insufficient_quota') return errors.insufficientQuota();
    if (fault.kind === 'flex_unavailable') {
      counters.flexUnavailable += 1;
      return errors.flexUnavailable();
    }
    if (fault.status === 401) return errors.invalidApiKey(apiKey);
    if (fault.status === 404) return errors.modelNotFound(model);
    if (fault.status === 429) return limiter.injectedLimitError(model);
    return statusFaultError(fault.status);
  }

  const engine: CompletionEngine = {
    prepare(api, body, bodyTexts, apiKey, sync = false) {
      const request = api === 'responses' ? parseResponsesRequest(body, models) : parseChatRequest(body, models);
      const tier = sync ? servedTier(request.serviceTier) : 'default';
      const fault = faults.take(bodyTexts, tier === 'flex');
      if (fault?.kind === 'status' || fault?.kind === 'insufficient_quota' || fault?.kind === 'flex_unavailable') {
        throw faultError(fault, request.model, apiKey);
      }
      return { request, fault, tier };
    },

    produce({ request, fault, tier }) {
      if (fault?.kind === 'malformed') return { kind: 'malformed', text: malformedBody(request) };
      const answerFault: AnswerFault =
        fault?.kind === 'refusal' || fault?.kind === 'extra-fields' || fault?.kind === 'wrong-type' || fault?.kind === 'incomplete'
          ? fault.kind
          : null;
      const completion = complete(request, answerFault, cache);
      counters.inputTokens += completion.inputTokens;
      counters.cachedTokens += completion.cachedTokens;
      counters.outputTokens += completion.outputTokens;
      const body = request.api === 'responses' ? responseObject(request, completion, tier) : chatCompletionObject(request, completion, tier);
      return { kind: 'ok', body, completion };
    },

    run(path, body, bodyTexts, apiKey) {
      const api = COMPLETION_PATHS[path];
      if (!api) {
        const e = errors.invalidUrl('POST', path);
        return { kind: 'http', status: e.status, body: e.toBody() };
      }
      let prepared: Prepared;
      try {
        prepared = engine.prepare(api, body, bodyTexts, apiKey);
      } catch (err) {
        const e =
          err instanceof ApiError
            ? err
            : new ApiError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
        return { kind: 'http', status: e.status, body: e.toBody() };
      }
      // A batch line cannot hang: both become the no-answer error line.
      if (prepared.fault?.kind === 'timeout' || prepared.fault?.kind === 'hang') {
        return { kind: 'no-response', code: 'request_timeout', message: 'The request timed out before a response was produced.' };
      }
      const out = engine.produce(prepared);
      if (out.kind === 'malformed') return { kind: 'http', status: 200, body: out.text };
      return { kind: 'http', status: 200, body: out.body, completion: out.completion };
    },
  };
  return engine;
}
