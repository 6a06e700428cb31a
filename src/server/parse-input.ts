import { z } from 'zod';
import { HttpError } from './http-errors.js';

/**
 * Validates a query or body with zod; a bad value is a 400 that names each field, says what it
 * takes (the schemas' own messages) and where the accepted values are listed.
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`).join('; ');
  throw new HttpError(400, `Invalid ${what}: ${issues}.`, 'Correct the value as the message says; /openapi.json lists every parameter and the values it takes.');
}

/** An ISO 8601 time with its offset, normalised to UTC. */
export const isoDate = z.iso
  .datetime({ offset: true, error: 'give an ISO 8601 time with its offset, e.g. 2026-05-01T00:00:00Z' })
  .transform((s) => new Date(s).toISOString());

/** limit/offset paging with words for what is wrong. */
export const paging = (max: number, fallback: number) => ({
  limit: z.coerce.number({ error: `give a whole number from 1 to ${max}` }).int(`give a whole number from 1 to ${max}`).min(1, `give a whole number from 1 to ${max}`).max(max, `at most ${max} a page`).default(fallback),
  offset: z.coerce.number({ error: 'give a whole number of rows to skip (0 or more)' }).int('give a whole number of rows to skip (0 or more)').min(0, 'give a whole number of rows to skip (0 or more)').default(0),
});

/** Chart ranges: bucket size and count, so every range draws a similar number of bars. */
const MIN = 60_000;
export const RANGES = {
  '1h': { bucketMs: MIN, buckets: 60 },
  '24h': { bucketMs: 30 * MIN, buckets: 48 },
  '7d': { bucketMs: 240 * MIN, buckets: 42 },
  '30d': { bucketMs: 1440 * MIN, buckets: 30 },
} as const;
export type RangeKey = keyof typeof RANGES;
export const rangeParam = (allowed: RangeKey[], fallback: RangeKey) =>
  z.enum(allowed as [RangeKey, ...RangeKey[]], { error: `give one of ${allowed.join(', ')}` }).default(fallback);

/** The start of the range's first bucket, so the last bucket holds now. */
export function rangeStart(range: RangeKey, now: Date): { since: Date; bucketMs: number; buckets: number } {
  const { bucketMs, buckets } = RANGES[range];
  return { since: new Date((Math.floor(now.getTime() / bucketMs) - buckets + 1) * bucketMs), bucketMs, buckets };
}
