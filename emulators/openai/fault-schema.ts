/**
 * Validates the body of POST /__emulator/faults: exactly one OpenAIFault, in the shape injectFault()
 * takes, so a test driving a standalone emulator can inject every fault an in-process test can.
 */
import { z } from 'zod';
import { fieldIssues, summarize } from '../zod-issues.js';
import { ApiError } from './errors.js';
import type { FaultStatus, OpenAIFault } from './types.js';

export const FAULT_KINDS = [
  'status', 'insufficient_quota', 'timeout', 'hang', 'malformed', 'refusal', 'extra-fields', 'wrong-type', 'incomplete',
  'flex_unavailable',
] as const;
export const FAULT_STATUSES = [400, 401, 403, 404, 408, 409, 429, 500, 502, 503] as const;

// Compile-time guards: the lists above must name every kind and status types.ts declares.
type Missing<A, B> = [Exclude<A, B>] extends [never] ? true : Exclude<A, B>;
const kindsComplete: Missing<OpenAIFault['kind'], (typeof FAULT_KINDS)[number]> = true;
const statusesComplete: Missing<FaultStatus, (typeof FAULT_STATUSES)[number]> = true;
void kindsComplete;
void statusesComplete;

const EXAMPLE = '{"kind":"status","status":503,"times":2,"match":"CUST-10045"}';
const kindList = FAULT_KINDS.map((k) => `"${k}"`).join(', ');

const positive = 'times must be a whole number >= 1 (how many matching requests get the fault; default 1).';
const base = {
  times: z.int({ error: positive }).min(1, { error: positive }).optional(),
  match: z
    .string({ error: 'match must be a string (the fault hits only requests whose body contains it); omit it to hit any request.' })
    .min(1, { error: 'match must not be empty; omit it to hit any request.' })
    .optional(),
};

const unknownKeys = (allowed: string) => (issue: z.core.$ZodRawIssue): string | undefined =>
  issue.code === 'unrecognized_keys'
    ? `Unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}; this fault takes ${allowed}.`
    : undefined;

const statusFault = z.strictObject(
  {
    kind: z.literal('status'),
    status: z.literal(FAULT_STATUSES, { error: `status must be one of ${FAULT_STATUSES.join(', ')}.` }),
    ...base,
  },
  { error: unknownKeys('kind, status, times and match') },
);
const plainFault = <K extends Exclude<(typeof FAULT_KINDS)[number], 'status'>>(kind: K) =>
  z.strictObject({ kind: z.literal(kind), ...base }, { error: unknownKeys('kind, times and match') });

const FaultSchema = z.discriminatedUnion(
  'kind',
  [
    statusFault,
    plainFault('insufficient_quota'),
    plainFault('timeout'),
    plainFault('hang'),
    plainFault('malformed'),
    plainFault('refusal'),
    plainFault('extra-fields'),
    plainFault('wrong-type'),
    plainFault('incomplete'),
    plainFault('flex_unavailable'),
  ],
  {
    // Typed as union issues only, but zod also routes the not-an-object issue here.
    error: (issue: { code?: string }) =>
      issue.code === 'invalid_type'
        ? 'The body must be one fault as a JSON object.'
        : issue.code === 'invalid_union'
          ? `kind must be one of ${kindList}.`
          : undefined,
  },
);

/** Parses one fault or throws a 400 in OpenAI's error shape whose param is the bad field. */
export function parseOpenAIFault(body: unknown): OpenAIFault {
  const parsed = FaultSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw new ApiError(
    400,
    'invalid_request_error',
    `Invalid fault: ${summarize(issues)} Send one fault, e.g. ${EXAMPLE} or {"kind":"hang"}.`,
    issues[0]?.field ?? null,
    'invalid_fault',
  );
}
