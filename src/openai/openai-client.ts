import OpenAI from 'openai';
import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import type { ConnectorConfig } from '../config/schema.js';
import { ConnectorError } from '../shared/errors.js';
import { pacesClient, retryAfterFromHeaders } from '../http/retry-policy.js';

/**
 * The SDK retries every 429, but insufficient_quota will not pass by waiting:
 * mark it `x-should-retry: false` (the SDK's own override header) so it fails at once.
 */
function quotaAwareFetch(inner: typeof fetch, limits?: RateLimitObserver): typeof fetch {
  return async (input, init) => {
    const res = await inner(input, init);
    // Every response, the SDK's own retries included, tells the limiter where the limits stand.
    limits?.observe(res.headers);
    if (res.status !== 429) {
      // Any 5xx slows every call down, as a 503 does: a storm of 500s is not retried at full speed.
      if (pacesClient(res.status)) limits?.penalize(retryAfterFromHeaders(res.headers));
      return res;
    }
    const text = await res.text();
    const headers = new Headers(res.headers);
    if (text.includes('"insufficient_quota"')) headers.set('x-should-retry', 'false');
    // Flex had no capacity: not a rate limit (other calls go on at full pace), and the connector's
    // fallback decides what comes next (later, the default tier, or a batch), not the SDK's quick retries.
    else if (text.includes('"resource_unavailable"')) headers.set('x-should-retry', 'false');
    else limits?.penalize(retryAfterFromHeaders(res.headers));
    return new Response(text, { status: res.status, statusText: res.statusText, headers });
  };
}

/** Statuses whose response has no body (a Response refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * The SDK's fetch. Its JSON calls (a string body: /responses, /chat/completions) go through undici's
 * request API and are answered as a Response: undici's fetch algorithm around the same exchange
 * (Request, stream plumbing, timing info) allocated ~90 KB per call and was a third of serve's
 * garbage. Anything else (file uploads, the batch output read as a stream) keeps undici's fetch,
 * the package the iPaaS.com client uses too: one HTTP stack in memory, not two.
 */
export const defaultFetch: typeof fetch = async (input, init) => {
  if (typeof init?.body !== 'string') return undiciFetch(input as Parameters<typeof undiciFetch>[0], init as Parameters<typeof undiciFetch>[1]) as unknown as Response;
  const url = typeof input === 'string' || input instanceof URL ? input : input.url;
  const res = await undiciRequest(url, {
    method: (init.method ?? 'POST') as 'POST',
    headers: Object.fromEntries(init.headers instanceof Headers ? init.headers : new Headers(init.headers)),
    body: init.body,
    signal: init.signal ?? undefined,
  });
  const text = await res.body.text();
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  return new Response(NULL_BODY.has(res.statusCode) ? null : text, { status: res.statusCode, headers });
};

/** The part of the rate limiter the transport feeds. */
export interface RateLimitObserver {
  observe(headers: Headers): void;
  penalize(retryAfterMs: number | undefined): void;
}

/** The official SDK, configured once from the connector's config. */
export function createOpenAIClient(openai: ConnectorConfig['openai'], options: { fetch?: typeof fetch; observe?: RateLimitObserver } = {}): OpenAI {
  if (!openai.apiKey) {
    throw new ConnectorError('CONFIG_INVALID', 'No OpenAI API key configured.', {
      fix: 'Set OPENAI_API_KEY (or openai.apiKey in the config), or run `ipaas-openai demo` to try the connector against the built-in emulators.',
    });
  }
  return new OpenAI({
    apiKey: openai.apiKey,
    baseURL: openai.baseUrl,
    timeout: openai.timeoutMs,
    maxRetries: openai.maxRetries,
    fetch: quotaAwareFetch(options.fetch ?? defaultFetch, options.observe),
    // From the config only (null, not undefined): the SDK would otherwise read OPENAI_WEBHOOK_SECRET behind the loader's back.
    webhookSecret: openai.webhookSecret ?? null,
  });
}
