import { describe, expect, it } from 'vitest';
import { isRetryableStatus, pacesClient, queueBackoffMs, retryAfterFromHeaders, shortRetryDelayMs } from './retry-policy.js';

describe('queueBackoffMs', () => {
  const low = () => 0;
  const high = () => 0.999999;

  it('attempt 1 is about the base: within [base/2, base]', () => {
    expect(queueBackoffMs(1, { random: low })).toBe(1000);
    expect(queueBackoffMs(1, { random: high })).toBe(2000);
  });

  it('doubles the ceiling per attempt, jitters over the whole range above the floor', () => {
    expect(queueBackoffMs(2, { random: high })).toBe(4000);
    expect(queueBackoffMs(3, { random: high })).toBe(8000);
    expect(queueBackoffMs(4, { random: () => 0.5, baseMs: 1000 })).toBe(500 + 0.5 * 7500);
    expect(queueBackoffMs(4, { random: low })).toBe(1000);
  });

  it('is capped at maxMs (default 5 minutes) even for huge attempts', () => {
    expect(queueBackoffMs(30, { random: high })).toBe(300_000);
    expect(queueBackoffMs(5000, { random: high })).toBe(300_000);
    expect(queueBackoffMs(10, { random: high, maxMs: 10_000 })).toBe(10_000);
    expect(queueBackoffMs(1, { random: high, baseMs: 60_000, maxMs: 10_000 })).toBe(10_000);
  });

  it('is never 0, whatever the inputs', () => {
    for (const attempt of [0, -3, Number.NaN, 1, 2, 50]) {
      for (const random of [low, high, () => -1, () => 2]) {
        const v = queueBackoffMs(attempt, { random, baseMs: 1 });
        expect(v).toBeGreaterThanOrEqual(1);
        expect(Number.isInteger(v)).toBe(true);
      }
    }
    expect(queueBackoffMs(1, { random: low, baseMs: 0.01 })).toBeGreaterThanOrEqual(1);
  });

  it('stays within bounds with the real random source', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const v = queueBackoffMs(attempt);
      expect(v).toBeGreaterThanOrEqual(1000);
      expect(v).toBeLessThanOrEqual(Math.min(300_000, 2000 * 2 ** (attempt - 1)));
    }
  });
});

describe('retryAfterFromHeaders', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('prefers retry-after-ms (float ms)', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '1146.5', 'retry-after': '2' }), now)).toBe(1146.5);
  });

  it('falls back to retry-after in seconds (float)', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '2' }), now)).toBe(2000);
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '0.25' }), now)).toBe(250);
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '0' }), now)).toBe(0);
  });

  it('accepts an HTTP date relative to now', () => {
    const h = new Headers({ 'retry-after': new Date(now + 30_000).toUTCString() });
    expect(retryAfterFromHeaders(h, now)).toBe(30_000);
  });

  it('an unparsable retry-after-ms falls through to retry-after', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': 'soon', 'retry-after': '3' }), now)).toBe(3000);
  });

  it('negative, past, NaN or absent -> undefined', () => {
    expect(retryAfterFromHeaders(new Headers({ 'retry-after-ms': '-5' }), now)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '-1' }), now)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': new Date(now - 5000).toUTCString() }), now)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': 'whenever' }), now)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers({ 'retry-after': '' }), now)).toBeUndefined();
    expect(retryAfterFromHeaders(new Headers(), now)).toBeUndefined();
    expect(retryAfterFromHeaders({}, now)).toBeUndefined();
  });

  it('reads plain records case-insensitively', () => {
    expect(retryAfterFromHeaders({ 'Retry-After-Ms': '150' }, now)).toBe(150);
    expect(retryAfterFromHeaders({ 'retry-after-ms': undefined, 'Retry-After': '1' }, now)).toBe(1000);
  });
});

describe('which failures are retried, and which slow the whole client', () => {
  it('retries 408, 409, 429, every 5xx and a missing status; never other 4xx', () => {
    for (const s of [408, 409, 429, 500, 502, 503, 504, undefined]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 422]) expect(isRetryableStatus(s)).toBe(false);
  });

  it('a 500 paces the client exactly as a 503 or 429 does; a 4xx or a success does not', () => {
    for (const s of [429, 500, 502, 503, 504]) expect(pacesClient(s)).toBe(true);
    for (const s of [200, 400, 404, 408, undefined]) expect(pacesClient(s)).toBe(false);
  });
});

describe('shortRetryDelayMs (the transports\' short retries, the SDK\'s policy)', () => {
  const none = () => 0;
  const most = () => 0.999999;

  it('honours a retry hint of up to 60 s, in any of the three forms', () => {
    expect(shortRetryDelayMs(0, new Headers({ 'retry-after-ms': '1500' }))).toBe(1500);
    expect(shortRetryDelayMs(0, new Headers({ 'retry-after': '7' }))).toBe(7000);
    const d = shortRetryDelayMs(0, new Headers({ 'retry-after': new Date(Date.now() + 20_000).toUTCString() }));
    expect(d).toBeGreaterThan(18_000);
    expect(d).toBeLessThanOrEqual(20_000);
  });

  it('without a usable hint (or one over 60 s): 0.5 s doubling to 8 s, minus up to 25 % jitter', () => {
    expect(shortRetryDelayMs(0, undefined, none)).toBe(500);
    expect(shortRetryDelayMs(1, undefined, none)).toBe(1000);
    expect(shortRetryDelayMs(5, undefined, none)).toBe(8000);
    expect(shortRetryDelayMs(0, undefined, most)).toBeCloseTo(375, 0);
    expect(shortRetryDelayMs(2, new Headers({ 'retry-after': '120' }), none)).toBe(2000);
  });
});
