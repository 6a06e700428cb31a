import { JOB_STATES } from '../queue/job-states.js';
import { ATTEMPT_OUTCOMES, MESSAGE_OUTCOMES } from '../store/ports.js';

/** Building blocks and component schemas of the OpenAPI document (openapi.ts). */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
export const errors = {
  400: json(ref('Error'), 'The request is invalid; the message names the field and what it takes.'),
  401: json(ref('Error'), 'The admin token is missing or wrong.'),
};
export const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'integer', minimum: 1 } });
export const query = (name: string, schema: Record<string, unknown>, description: string) => ({ name, in: 'query', required: false, description, schema });
export const pagingParams = (max = 200, fallback = 25) => [query('limit', { type: 'integer', minimum: 1, maximum: max, default: fallback }, 'Page size.'), query('offset', { type: 'integer', minimum: 0, default: 0 }, 'Rows to skip.')];
export const read = { security: [{}, { adminToken: [] }] };
export const write = { security: [{ adminToken: [] }] };
export const str = { type: 'string' };
export const nstr = { type: ['string', 'null'] };
export const int = { type: 'integer' };
const nint = { type: ['integer', 'null'] };
export const num = { type: 'number' };
export const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });

export const OUTCOMES = ['synced', 'skipped', 'failed'];
const byOutcome = (description: string) => ({ ...obj(Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, int]))), description });
const byState = obj(Object.fromEntries(JOB_STATES.map((s) => [s, int])));

export const schemas = {
  Error: obj({ error: obj({ status: int, message: str, fix: { ...str, description: 'What to do about it.' } }, { required: ['status', 'message'] }) }),
  Job: obj({
    id: int, state: { enum: JOB_STATES }, ref: str, refKind: { enum: ['number', 'id'] }, customerId: nstr, trigger: str, priority: int, attempts: int, maxAttempts: int,
    runAfter: str, coalesced: int, runId: nstr, lastError: nstr, lastErrorCode: nstr, lastErrorFix: nstr, lastAttemptId: nint,
    responseId: nstr, answer: { description: 'The parsed OpenAI answer stored before the write-back.' }, createdAt: str, updatedAt: str,
  }),
  JobItem: obj({
    id: int, state: { enum: JOB_STATES }, ref: str, refKind: { enum: ['number', 'id'] }, customerId: nstr, trigger: str, priority: int,
    attempts: { ...int, description: 'Tries counted so far (a retried failure counts; the next try is attempts + 1).' }, maxAttempts: int,
    runAfter: { ...str, description: 'When it runs (its next try) at the earliest.' }, runId: nstr,
    heldBy: { ...nstr, description: 'The lease owner (worker@host:pid:tag) while an instance runs it.' },
    lastError: nstr, lastErrorCode: nstr, lastErrorFix: nstr, lastAttemptId: nint, holdReason: nstr, createdAt: str, updatedAt: str,
  }),
  ActivityItem: obj({
    id: int, startedAt: str, finishedAt: str, customerNumber: nstr, customerId: nstr, requestedRef: str, trigger: str,
    outcome: { enum: ATTEMPT_OUTCOMES, description: 'failed: a final failure (dead-lettered, or not worth retrying); retrying: this try failed and the queue tries again at nextTryAt.' },
    errorCode: nstr, reason: { ...nstr, description: 'Why it failed or was skipped.' }, fix: nstr, totalMs: num, inputTokens: int, cachedTokens: int, outputTokens: int,
    costUsd: { type: ['number', 'null'] }, jobId: nint, flags: { type: ['array', 'null'], items: str },
    instance: { ...nstr, description: 'The instance that ran it (IPAAS_OPENAI_INSTANCE, default host:pid).' },
    tryNumber: { ...nint, description: 'Which try of its job this was (1-based); null outside the queue.' }, maxTries: nint,
    nextTryAt: { ...nstr, description: 'When the queue tries again; null when this try ended the job.' },
    promptVersion: { ...nstr, description: 'The PromptText version the request was built from (GET /api/prompts/{promptVersion} has its text); null when no request was built.' },
  }),
  Attempt: {
    description: 'One sync attempt, whole: the exact request sent to OpenAI, its response, the parsed answer and the fields written (before -> after). outcome is as stored: a failed try with nextTryAt is retried.',
    allOf: [
      ref('ActivityItem'),
      obj({
        outcome: { enum: OUTCOMES }, errorMessage: nstr, errorFix: nstr, retryable: { type: 'boolean' }, collection: nstr, api: nstr, model: nstr, request: {}, response: {}, answer: {},
        writes: { type: ['array', 'null'], items: obj({ field: str, before: nstr, after: nstr, skipped: str }) },
        responseId: nstr, requestId: nstr, reasoningTokens: int, loadMs: { type: ['number', 'null'] }, openaiMs: { type: ['number', 'null'] }, writeMs: { type: ['number', 'null'] },
      }),
    ],
  },
  RateLimit: obj({
    rpmLimit: int, tpmLimit: int, remainingRequests: int, remainingTokens: int, concurrency: int, inFlight: int,
    pausedUntil: nstr, headroom: { type: 'number', minimum: 0, maximum: 1, description: 'Share of the limit available now (1 when no limit is known yet).' },
  }),
  Overview: obj({
    generatedAt: str, range: { enum: ['1h', '24h', '7d'] }, since: str, bucketMs: int,
    series: obj({
      attempts: obj(Object.fromEntries(ATTEMPT_OUTCOMES.map((o) => [o, { type: 'array', items: int }])), { description: 'Attempts finished per bucket, by outcome.' }),
      queueDepthJobs: { type: 'array', items: nint, description: 'Highest number of jobs waiting or in flight seen per bucket; null while the service was not running.' },
    }),
    today: obj({ since: str, attempts: byOutcome('Attempts finished since `since`, by outcome.'), openaiCalls: int, inputTokens: int, cachedTokens: int, outputTokens: int, costUsd: num }),
    records: byOutcome('Records (customers), each counted once by its latest attempt (all time).'),
    queue: obj({ depthJobs: int, jobs: { ...byState, description: 'Jobs in the queue by state (one per record per run).' } }),
    rateLimit: ref('RateLimit'),
    upstream: obj({ openaiRequests: int, openaiRateLimited: int, openaiMeanLatencyMs: nint }, { description: "This instance's OpenAI HTTP requests since it started." }),
    workers: obj({ running: { type: 'boolean' }, busy: int, concurrency: int, paused: { ...nstr, description: 'Why the workers stopped claiming (e.g. the OpenAI quota ran out); null while they run.' } }),
    review: ref('ReviewSummary'),
    promptVersions: { type: 'array', items: ref('PromptVersionOutcomes'), description: "The range's attempts by prompt version and outcome: the versions used most recently first, attempts that built no request (promptVersion null) last." },
    budget: obj({ caps: { type: 'object' }, today: obj({ tokens: int, usd: num }), month: obj({ tokens: int, usd: num }), heldJobs: int }),
    startedAt: str,
  }),
  ReviewSummary: obj({ waiting: { ...int, description: 'Answers waiting for a person before write-back.' }, oldestSince: nstr, oldestAgeSeconds: { ...nint, description: 'How long the oldest has waited; null when none waits.' } }),
  PromptVersionOutcomes: obj({
    promptVersion: { ...nstr, description: 'A short hash of the PromptText; null for attempts that built no request.' }, text: { ...nstr, description: 'The PromptText, redacted; null when unknown.' },
    attempts: byOutcome('Attempts with this version, by outcome.'), total: int, costUsd: num, lastAt: { ...str, description: 'When its newest attempt in the range finished.' },
  }),
  TrialRequest: obj(
    {
      customerNumbers: { type: 'array', items: str, minItems: 1, maxItems: 50, description: 'The customers to try the prompts on (or sample).' },
      sample: { type: 'integer', minimum: 1, maximum: 50, description: 'That many customers with a CustomerNumber, at random (or customerNumbers).' },
      promptText: { ...str, maxLength: 20000, description: 'A candidate PromptText, tried beside the active one on the same customers.' },
      entity: { enum: ['customer', 'product'], default: 'customer', description: 'The data model: customerNumbers are SKUs for products.' },
    },
    { additionalProperties: false },
  ),
  TrialPrompt: obj({ variant: { enum: ['active', 'candidate'] }, id: str, text: nstr }),
  TrialEstimate: obj({ customers: int, variants: int, calls: { ...int, description: 'OpenAI calls the trial would make (customers that cannot be loaded make none).' }, inputTokens: int, outputTokens: int, costUsd: { type: ['number', 'null'] } }),
  TrialProgress: obj({ trialId: str, status: { enum: ['preparing', 'running', 'finished', 'stopped', 'failed'] }, customers: int, done: int, startedAt: str, finishedAt: nstr, error: { type: ['object', 'null'] } }),
  Trial: obj({
    trialId: str, startedAt: nstr,
    status: { type: ['string', 'null'], enum: ['preparing', 'running', 'finished', 'stopped', 'failed', null], description: 'As this service ran it; null for a trial it did not run (the CLI, another instance).' },
    progress: { oneOf: [ref('TrialProgress'), { type: 'null' }] },
    prompts: { type: 'array', items: ref('TrialPrompt') },
    customers: {
      type: 'array',
      description: 'Per customer, each prompt\'s result side by side: the answer, what a sync would write (before -> after), tokens and cost.',
      items: obj({
        ref: str, customerNumber: nstr, customerId: nstr,
        results: { type: 'array', items: obj({
          variant: { enum: ['active', 'candidate'] }, promptVersion: str, outcome: { enum: ['answered', 'failed', 'skipped'] }, sent: { type: 'boolean' }, answer: { type: ['object', 'null'] },
          writes: { type: 'array', items: obj({ field: str, before: nstr, after: nstr, skipped: str }) }, answerTargets: { type: 'array', items: str, description: 'The written fields that come from the answer (the ones compared).' },
          inputTokens: int, outputTokens: int, costUsd: { type: ['number', 'null'] }, error: { type: ['object', 'null'] }, trialAttemptId: int,
        }) },
      }),
    },
    summary: obj({ trialId: str, customers: int, calls: int, failed: int, costUsd: num, inputTokens: int, outputTokens: int, compared: { type: ['object', 'null'], description: 'With a candidate: customers answered by both, how many of them differ, and per answer field.' } }),
    truncated: { type: 'boolean', description: 'True when the trial has more calls than are read back (the newest are shown).' },
  }),
  Usage: obj({
    range: { enum: ['24h', '7d', '30d'] }, since: str, bucketMs: int,
    openaiCalls: { type: 'array', items: int }, inputTokens: { type: 'array', items: int }, cachedTokens: { type: 'array', items: int }, outputTokens: { type: 'array', items: int }, costUsd: { type: 'array', items: num },
  }),
  RunItem: obj({
    runId: str, trigger: { ...str, description: 'What started it: manual, manual-debug, bulk, batch, retry, demo.' }, createdAt: str, updatedAt: str,
    total: { ...int, description: 'Jobs in the run (one per record).' }, done: int, finished: { type: 'boolean' }, counts: byState,
    bulk: { type: ['object', 'null'], properties: { mode: { enum: ['direct', 'batch'] }, status: { enum: ['running', 'done'] }, enumerated: int, expected: nint, enumerationDone: { type: 'boolean' } } },
    statusUrl: str,
  }),
  CheckResult: obj({ item: str, status: { enum: ['pass', 'warn', 'fail'] }, detail: str, fix: str }, { required: ['item', 'status', 'detail'] }),
  Mapping: obj({ type: { enum: ['Field', 'Static', 'Formula'] }, source: str, destination: str, description: nstr, destinationType: str }),
  ConfigView: obj({
    collections: { type: 'array', items: obj({ name: str, dataModel: str, direction: { enum: ['FROM iPaaS', 'TO iPaaS'] }, status: { enum: ['Enabled', 'Disabled'] }, triggerEvents: { type: 'array', items: str }, filter: nstr, mappings: { type: 'array', items: ref('Mapping') } }) },
    customFields: { type: 'array', items: obj({ name: str, dataType: str, description: str }) },
    openai: { type: 'object' }, ipaas: { type: 'object' }, server: { type: 'object' }, jobs: { type: 'object' }, budget: { type: 'object' }, sync: { type: 'object' }, store: { type: 'object' }, log: { type: 'object' },
    secrets: { type: 'array', description: 'Only whether each secret is set; never its value.', items: obj({ name: str, key: str, env: str, present: { type: 'boolean' }, note: str }) },
  }),
  Run: obj({ runId: str, total: int, done: int, finished: { type: 'boolean' }, counts: byState, jobs: { type: 'array', items: ref('Job') } }),
  Message: obj({
    id: { ...str, description: 'The Message id: the webhook scope (event type) joined with the source id, e.g. batch.completed:batch_abc.' },
    webhookId: str, eventType: str, eventId: nstr, sourceId: { ...nstr, description: 'The batch (or response) the event is about.' },
    receivedAt: str,
    outcome: { enum: MESSAGE_OUTCOMES, description: 'received: not acted on yet; applied: a completed batch applied; fallback: the lines of a failed, expired or cancelled batch sent the batch.onLineFailure way; already-applied; unknown-batch; ignored: nothing to do for this event; error: see detail.' },
    detail: nstr, lines: { ...nint, description: 'Batch lines settled by acting on it.' }, actedAt: nstr,
    replays: { ...int, description: 'Later deliveries of the same webhook-id, each acknowledged and ignored.' }, lastReplayAt: nstr,
    instance: nstr, body: { ...str, description: 'The body as received, secrets redacted.' },
  }),
};
