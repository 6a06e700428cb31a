import OpenAI from 'openai';
import { InterruptedError, upstreamError } from '../shared/errors.js';
import { retryAfterFromHeaders } from '../http/retry-policy.js';
import type { Redactor } from '../shared/redact.js';
import type { OpenAIRequest } from './build-request.js';
import type { TokenUsage } from './prices.js';

export interface RateLimitSnapshot {
  limitRequests?: number;
  limitTokens?: number;
  remainingRequests?: number;
  remainingTokens?: number;
  resetRequests?: string;
  resetTokens?: string;
}

/** What came back, untouched apart from redaction: parsing is the next step. */
export interface OpenAIRawResult {
  responseId: string;
  model: string;
  raw: unknown;
  usage: TokenUsage;
  requestId: string | undefined;
  rateLimit: RateLimitSnapshot;
  durationMs: number;
  /** The tier OpenAI says served the call (`flex` is billed at Batch prices). */
  serviceTier: string | undefined;
}

function num(h: Headers, name: string): number | undefined {
  const v = h.get(name);
  return v == null || v === '' || !Number.isFinite(Number(v)) ? undefined : Number(v);
}

export function rateLimitFrom(h: Headers): RateLimitSnapshot {
  const snap: RateLimitSnapshot = {};
  const set = <K extends keyof RateLimitSnapshot>(k: K, v: RateLimitSnapshot[K] | undefined) => {
    if (v !== undefined) snap[k] = v;
  };
  set('limitRequests', num(h, 'x-ratelimit-limit-requests'));
  set('limitTokens', num(h, 'x-ratelimit-limit-tokens'));
  set('remainingRequests', num(h, 'x-ratelimit-remaining-requests'));
  set('remainingTokens', num(h, 'x-ratelimit-remaining-tokens'));
  set('resetRequests', h.get('x-ratelimit-reset-requests') ?? undefined);
  set('resetTokens', h.get('x-ratelimit-reset-tokens') ?? undefined);
  return snap;
}

type AnyUsage = {
  input_tokens?: number; output_tokens?: number; input_tokens_details?: { cached_tokens?: number }; output_tokens_details?: { reasoning_tokens?: number };
  prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number }; completion_tokens_details?: { reasoning_tokens?: number };
};

export function usageFrom(u: AnyUsage | null | undefined): TokenUsage {
  return {
    inputTokens: u?.input_tokens ?? u?.prompt_tokens ?? 0,
    cachedTokens: u?.input_tokens_details?.cached_tokens ?? u?.prompt_tokens_details?.cached_tokens ?? 0,
    outputTokens: u?.output_tokens ?? u?.completion_tokens ?? 0,
    reasoningTokens: u?.output_tokens_details?.reasoning_tokens ?? u?.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

/** Translates every SDK failure into the seed's "API request failed." with status, type, code and message. */
export function toUpstreamError(err: unknown, redact: Redactor, timeoutMs: number, endpoint?: string): Error {
  // Checked first: APIUserAbortError is an APIError too. The SDK does not retry an aborted call.
  if (err instanceof OpenAI.APIUserAbortError) return new InterruptedError('The OpenAI call');
  if (err instanceof OpenAI.APIConnectionTimeoutError) {
    return upstreamError({ service: 'openai', status: undefined, endpoint, upstreamMessage: `no answer within ${timeoutMs} ms (timeout)` }, err);
  }
  if (err instanceof OpenAI.APIConnectionError) {
    return upstreamError({ service: 'openai', status: undefined, endpoint, upstreamMessage: redact(`connection to ${endpoint ?? 'OpenAI'} failed: ${err.cause instanceof Error ? err.cause.message : err.message}`) }, err);
  }
  if (err instanceof OpenAI.APIError) {
    const body = err.error as { message?: string } | undefined;
    return upstreamError(
      {
        service: 'openai',
        status: err.status,
        type: err.type,
        upstreamCode: err.code ?? undefined,
        upstreamMessage: redact(body?.message ?? err.message),
        requestId: err.requestID ?? undefined,
        retryAfterMs: err.headers ? retryAfterFromHeaders(err.headers) : undefined,
      },
      undefined, // the SDK error holds request headers; never chain it where it could be printed
    );
  }
  if (err instanceof SyntaxError || (err instanceof Error && /JSON/.test(err.message))) {
    return upstreamError({ service: 'openai', status: 200, type: 'malformed_response', upstreamMessage: redact(`the body is not valid JSON (${err.message})`) });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** Sends one request through the official SDK (its retry policy applies) and returns the raw answer. */
export async function callOpenAI(client: OpenAI, request: OpenAIRequest, redact: Redactor, timeoutMs: number, signal?: AbortSignal): Promise<OpenAIRawResult> {
  const started = performance.now();
  // A flex call may take many minutes: its own timeout (the client's default is the normal one).
  const options = { ...(signal ? { signal } : {}), ...(request.serviceTier === 'flex' ? { timeout: timeoutMs } : {}) };
  try {
    const { data, response, request_id } =
      request.api === 'responses'
        ? await client.responses.create(request.body as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming, options).withResponse()
        : await client.chat.completions.create(request.body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, options).withResponse();
    const usage = usageFrom((data as { usage?: AnyUsage }).usage);
    return {
      responseId: data.id,
      model: data.model,
      raw: data,
      usage,
      requestId: request_id ?? undefined,
      rateLimit: rateLimitFrom(response.headers),
      durationMs: performance.now() - started,
      serviceTier: (data as { service_tier?: string | null }).service_tier ?? undefined,
    };
  } catch (err) {
    throw toUpstreamError(err, redact, timeoutMs, client.baseURL);
  }
}
