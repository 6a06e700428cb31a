/**
 * Validates the body of POST /__emulator/faults: exactly one IpaasFault, in the shape injectFault()
 * takes, so a test driving a standalone emulator can inject every fault an in-process test can.
 */
import { z } from 'zod';
import { fieldIssues, summarize, type FieldIssue } from '../zod-issues.js';
import { IpaasHttpError } from './errors.js';
import type { IpaasFault } from './types.js';

export const FAULT_STATUSES = [429, 500, 502, 503, 504] as const;
const EXAMPLE = '{"route":"GET /customers/v2/Customer/:id","status":503,"times":2,"retryAfterSeconds":5}';

const positive = 'times must be a whole number >= 1 (how many matching requests get the fault; default 1).';
const times = z.int({ error: positive }).min(1, { error: positive }).optional();
const route = z
  .string({ error: 'route must be a string such as "GET /customers/v2/Customer/:id"; omit it to fault the next request on any route.' })
  .optional();
const seconds = 'retryAfterSeconds must be a whole number of seconds >= 0.';

/** Object-level problems: not an object, or keys injectFault() does not know. */
const objectError = (allowed: string) => (issue: z.core.$ZodRawIssue): string | undefined =>
  issue.code === 'unrecognized_keys'
    ? `Unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; this fault takes ${allowed}.`
    : issue.code === 'invalid_type'
      ? 'The body must be one fault as a JSON object.'
      : undefined;

const StatusFault = z.strictObject(
  {
    route,
    times,
    status: z.literal(FAULT_STATUSES, {
      error: `status must be one of ${FAULT_STATUSES.join(', ')} (or send kind "timeout" instead of a status).`,
    }),
    retryAfterSeconds: z.int({ error: seconds }).min(0, { error: seconds }).optional(),
  },
  { error: objectError('route, status, times and retryAfterSeconds') },
);

const TimeoutFault = z.strictObject(
  {
    route,
    times,
    kind: z.literal('timeout', { error: 'kind must be "timeout" (or leave kind out and send status 429, 500, 502, 503 or 504).' }),
  },
  { error: objectError('route, kind and times') },
);

function reject(issues: FieldIssue[]): never {
  throw new IpaasHttpError(400, `Invalid fault: ${summarize(issues)} Send one fault, e.g. ${EXAMPLE} or {"kind":"timeout"}.`, issues);
}

/**
 * Parses one fault. `routes` are the emulated routes ('GET /customers/v2/Customer/:id', ...): a route
 * outside them would never match, so it is refused; a match in another letter case is normalized.
 */
export function parseIpaasFault(body: unknown, routes: readonly string[]): IpaasFault {
  const isTimeout = typeof body === 'object' && body !== null && 'kind' in body;
  const parsed = (isTimeout ? TimeoutFault : StatusFault).safeParse(body);
  if (!parsed.success) reject(fieldIssues(parsed.error));
  const fault: IpaasFault = { ...parsed.data };
  if (fault.route !== undefined) {
    const wanted = fault.route.trim().replace(/\s+/, ' ').toLowerCase();
    const known = routes.find((r) => r.toLowerCase() === wanted);
    if (!known) {
      reject([{ field: 'route', message: `route "${fault.route}" is not an emulated route; use one of: ${routes.join(', ')}.` }]);
    }
    fault.route = known;
  }
  return fault;
}
