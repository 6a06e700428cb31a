import OpenAI from 'openai';
import { fetch as undiciFetch } from 'undici';
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

/**
 * undici's own fetch (the package the iPaaS.com client already uses) rather than
 * Node's bundled copy: one HTTP stack in memory instead of two.
 */
export const defaultFetch = undiciFetch as unknown as typeof fetch;

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
