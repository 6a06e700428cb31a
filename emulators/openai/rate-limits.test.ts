import { describe, expect, it } from 'vitest';
import { formatGoDuration, RateLimiter, TokenBucket } from './rate-limits.js';

describe('formatGoDuration', () => {
  it('formats like Go time.Duration at ms precision', () => {
    expect(formatGoDuration(0)).toBe('0s');
    expect(formatGoDuration(120)).toBe('120ms');
    expect(formatGoDuration(1000)).toBe('1s');
    expect(formatGoDuration(1146)).toBe('1.146s');
    expect(formatGoDuration(1500)).toBe('1.5s');
    expect(formatGoDuration(360_000)).toBe('6m0s');
    expect(formatGoDuration(1_396_298)).toBe('23m16.298s');
    expect(formatGoDuration(3_600_000)).toBe('1h0m0s');
    expect(formatGoDuration(0.2)).toBe('1ms');
  });
});

describe('rate limiter', () => {
  it('refills continuously at limit/60 per second', () => {
    let t = 0;
    const b = new TokenBucket(60, () => t);
    b.take(60);
    expect(b.available()).toBe(0);
    t = 500;
    expect(b.available()).toBeCloseTo(0.5);
    expect(b.msUntil(1)).toBeCloseTo(500);
    t = 120_000;
    expect(b.available()).toBe(60);
  });

  it('builds OpenAI 429s and headers', () => {
    let t = 0;
    const rl = new RateLimiter(2, 1000, 'org-x', () => t);
    rl.reserve('gpt-5-nano', 100);
    rl.reserve('gpt-5-nano', 100);
    expect(rl.headers()).toMatchObject({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-remaining-tokens': '800',
      'x-ratelimit-reset-requests': '1m0s',
      'x-ratelimit-reset-tokens': '12s',
    });
    let err: unknown;
    try {
      rl.reserve('gpt-5-nano', 100);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      status: 429,
      type: 'requests',
      code: 'rate_limit_exceeded',
      message:
        'Rate limit reached for gpt-5-nano in organization org-x on requests per min (RPM): Limit 2, Used 2, Requested 1. ' +
        'Please try again in 30s. Visit https://platform.openai.com/account/rate-limits to learn more.',
      headers: { 'retry-after': '30', 'retry-after-ms': '30000' },
    });
    t = 60_000;
    rl.reserve('gpt-5-nano', 900);
    expect(() => rl.reserve('gpt-5-nano', 200)).toThrow(
      'Rate limit reached for gpt-5-nano in organization org-x on tokens per min (TPM): Limit 1000, Used 900, Requested 200. Please try again in 6s.',
    );
    rl.refund(500);
    expect(() => rl.reserve('gpt-5-nano', 200)).not.toThrow();
    expect(() => rl.reserve('gpt-5-nano', 5000)).toThrow(/^Request too large for gpt-5-nano in organization org-x on tokens per min \(TPM\): Limit 1000, Requested 5000\./);
  });
});
