/**
 * RPM and TPM limits as two continuously refilling buckets (capacity = limit, refill limit/60 per
 * second), with OpenAI's x-ratelimit-* headers and 429 bodies.
 */
import { ApiError } from './errors.js';

const MINUTE_MS = 60_000;
const RATE_LIMIT_DOCS = 'Visit https://platform.openai.com/account/rate-limits to learn more.';

export class TokenBucket {
  private level: number;
  private updatedAt: number;

  constructor(
    public capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    this.level = capacity;
    this.updatedAt = now();
  }

  /** Current fill after refilling for the time elapsed. */
  available(): number {
    const t = this.now();
    const elapsed = Math.max(0, t - this.updatedAt);
    this.level = Math.min(this.capacity, this.level + (elapsed * this.capacity) / MINUTE_MS);
    this.updatedAt = t;
    return this.level;
  }

  take(n: number): void {
    this.level = this.available() - n;
  }

  give(n: number): void {
    this.level = Math.min(this.capacity, this.available() + n);
  }

  /** Milliseconds until `n` units are available (0 if they are now). */
  msUntil(n: number): number {
    const missing = n - this.available();
    return missing <= 0 ? 0 : (missing * MINUTE_MS) / this.capacity;
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(): number {
    return this.msUntil(this.capacity);
  }

  reset(capacity: number): void {
    this.capacity = capacity;
    this.level = capacity;
    this.updatedAt = this.now();
  }
}

/**
 * Formats milliseconds like Go's time.Duration.String() at millisecond precision, as OpenAI's
 * x-ratelimit-reset-* headers do: "0s", "120ms", "1s", "1.146s", "6m0s", "23m16.298s", "1h0m0s".
 */
export function formatGoDuration(msIn: number): string {
  const ms = Math.ceil(Math.max(0, msIn));
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secMs = ms % 60_000;
  const whole = Math.floor(secMs / 1000);
  const frac = secMs % 1000;
  const seconds = frac === 0 ? `${whole}s` : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${minutes}m${seconds}`;
  return seconds;
}

export class RateLimiter {
  readonly requests: TokenBucket;
  readonly tokens: TokenBucket;

  constructor(
    rpm: number,
    tpm: number,
    private readonly organization: string,
    now: () => number = Date.now,
  ) {
    this.requests = new TokenBucket(rpm, now);
    this.tokens = new TokenBucket(tpm, now);
  }

  setLimits(l: { rpm?: number; tpm?: number }): void {
    this.requests.reset(l.rpm ?? this.requests.capacity);
    this.tokens.reset(l.tpm ?? this.tokens.capacity);
  }

  /** Reserves one request and `tokenCost` tokens, or throws the 429 OpenAI would send. */
  reserve(model: string, tokenCost: number): void {
    const org = this.organization;
    const tpm = this.tokens.capacity;
    if (tokenCost > tpm) {
      throw new ApiError(
        429,
        'tokens',
        `Request too large for ${model} in organization ${org} on tokens per min (TPM): Limit ${tpm}, Requested ${tokenCost}. ` +
          `The input or output tokens must be reduced in order to run successfully. ${RATE_LIMIT_DOCS}`,
        null,
        'rate_limit_exceeded',
      );
    }
    if (this.requests.available() < 1) throw this.limitError(model, 'requests', this.requests, 1);
    if (this.tokens.available() < tokenCost) throw this.limitError(model, 'tokens', this.tokens, tokenCost);
    this.requests.take(1);
    this.tokens.take(tokenCost);
  }

  /** Returns unused reserved tokens (reserved max output minus actual output). */
  refund(tokens: number): void {
    if (tokens > 0) this.tokens.give(tokens);
  }

  headers(): Record<string, string> {
    return {
      'x-ratelimit-limit-requests': String(this.requests.capacity),
      'x-ratelimit-limit-tokens': String(this.tokens.capacity),
      'x-ratelimit-remaining-requests': String(Math.max(0, Math.floor(this.requests.available()))),
      'x-ratelimit-remaining-tokens': String(Math.max(0, Math.floor(this.tokens.available()))),
      'x-ratelimit-reset-requests': formatGoDuration(this.requests.msUntilFull()),
      'x-ratelimit-reset-tokens': formatGoDuration(this.tokens.msUntilFull()),
    };
  }

  /** The 429 of an injected `status: 429` fault: the RPM limit, reported as used up, retry in 1s. */
  injectedLimitError(model: string): ApiError {
    const limit = this.requests.capacity;
    return new ApiError(
      429,
      'requests',
      `Rate limit reached for ${model} in organization ${this.organization} on requests per min (RPM): Limit ${limit}, ` +
        `Used ${limit}, Requested 1. Please try again in 1s. ${RATE_LIMIT_DOCS}`,
      null,
      'rate_limit_exceeded',
      { 'retry-after': '1', 'retry-after-ms': '1000' },
    );
  }

  private limitError(model: string, kind: 'requests' | 'tokens', bucket: TokenBucket, requested: number): ApiError {
    const label = kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
    const used = Math.min(bucket.capacity, Math.max(0, Math.round(bucket.capacity - bucket.available())));
    const waitMs = Math.max(1, Math.ceil(bucket.msUntil(requested)));
    return new ApiError(
      429,
      kind,
      `Rate limit reached for ${model} in organization ${this.organization} on ${label}: Limit ${bucket.capacity}, ` +
        `Used ${used}, Requested ${requested}. Please try again in ${formatGoDuration(waitMs)}. ${RATE_LIMIT_DOCS}`,
      null,
      'rate_limit_exceeded',
      { 'retry-after': String(Math.ceil(waitMs / 1000)), 'retry-after-ms': String(waitMs) },
    );
  }
}
