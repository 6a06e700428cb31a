import { JOB_STATES } from '../queue/job-states.js';

/**
 * The HTTP API, documented (OpenAPI 3.1), served at /openapi.json. A test checks that every
 * route the app registers is in here and the other way round, so it cannot drift.
 */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const errors = {
  400: json(ref('Error'), 'The request is invalid; the message names the field.'),
  401: json(ref('Error'), 'The admin token is missing or wrong.'),
};
const idParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'integer', minimum: 1 } });
const query = (name: string, schema: Record<string, unknown>, description: string) => ({ name, in: 'query', required: false, description, schema });
const paging = [query('limit', { type: 'integer', minimum: 1, maximum: 200, default: 25 }, 'Page size.'), query('offset', { type: 'integer', minimum: 0, default: 0 }, 'Rows to skip.')];
const read = { security: [{}, { adminToken: [] }] };
const write = { security: [{ adminToken: [] }] };
const str = { type: 'string' };
const nstr = { type: ['string', 'null'] };
const int = { type: 'integer' };
const num = { type: 'number' };
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: 'object', properties, ...extra });

const OUTCOMES = ['synced', 'skipped', 'failed'];

const schemas = {
  Error: obj({ error: obj({ status: int, message: str, fix: { ...str, description: 'What to do about it.' } }, { required: ['status', 'message'] }) }),
  Job: obj({
    id: int, state: { enum: JOB_STATES }, ref: str, refKind: { enum: ['number', 'id'] }, customerId: nstr, trigger: str, priority: int, attempts: int, maxAttempts: int,
    runAfter: str, coalesced: int, runId: nstr, lastError: nstr, lastErrorCode: nstr, lastErrorFix: nstr, lastAttemptId: { type: ['integer', 'null'] },
    responseId: nstr, answer: { description: 'The parsed OpenAI answer stored before the write-back.' }, createdAt: str, updatedAt: str,
  }),
  ActivityItem: obj({
    id: int, startedAt: str, finishedAt: str, customerNumber: nstr, customerId: nstr, requestedRef: str, trigger: str, outcome: { enum: OUTCOMES },
    errorCode: nstr, reason: { ...nstr, description: 'Why it failed or was skipped.' }, fix: nstr, totalMs: num, inputTokens: int, cachedTokens: int, outputTokens: int,
    costUsd: { type: ['number', 'null'] }, jobId: { type: ['integer', 'null'] }, flags: { type: ['array', 'null'], items: str },
    instance: { ...nstr, description: 'The instance that ran it (IPAAS_OPENAI_INSTANCE, default host:pid).' },
  }),
  Attempt: {
    description: 'One sync attempt, whole: the exact request sent to OpenAI, its response, the parsed answer and the fields written (before -> after).',
    allOf: [
      ref('ActivityItem'),
      obj({
        errorMessage: nstr, errorFix: nstr, retryable: { type: 'boolean' }, collection: nstr, api: nstr, model: nstr, request: {}, response: {}, answer: {},
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
      synced: { type: 'array', items: int }, skipped: { type: 'array', items: int }, failed: { type: 'array', items: int },
      queued: { type: 'array', items: { type: ['integer', 'null'] }, description: 'Highest queue depth seen per bucket; null while the service was not running.' },
    }),
    today: obj({ since: str, synced: int, skipped: int, failed: int, openaiCalls: int, inputTokens: int, cachedTokens: int, outputTokens: int, costUsd: num }),
    queue: obj({ depth: int, counts: obj(Object.fromEntries(JOB_STATES.map((s) => [s, int]))) }),
    rateLimit: ref('RateLimit'),
    upstream: obj({ openaiRequests: int, openaiRateLimited: int, openaiMeanLatencyMs: { type: ['integer', 'null'] } }),
    workers: obj({ running: { type: 'boolean' }, busy: int, concurrency: int, paused: { ...nstr, description: 'Why the workers stopped claiming (e.g. the OpenAI quota ran out); null while they run.' } }),
    startedAt: str,
  }),
  CheckResult: obj({ item: str, status: { enum: ['pass', 'warn', 'fail'] }, detail: str, fix: str }, { required: ['item', 'status', 'detail'] }),
  Mapping: obj({ type: { enum: ['Field', 'Static', 'Formula'] }, source: str, destination: str, description: nstr, destinationType: str }),
  ConfigView: obj({
    collections: { type: 'array', items: obj({ name: str, dataModel: str, direction: { enum: ['FROM iPaaS', 'TO iPaaS'] }, status: { enum: ['Enabled', 'Disabled'] }, triggerEvents: { type: 'array', items: str }, filter: nstr, mappings: { type: 'array', items: ref('Mapping') } }) },
    customFields: { type: 'array', items: obj({ name: str, dataType: str, description: str }) },
    openai: { type: 'object' }, ipaas: { type: 'object' }, server: { type: 'object' }, jobs: { type: 'object' }, budget: { type: 'object' }, sync: { type: 'object' }, store: { type: 'object' }, log: { type: 'object' },
    secrets: { type: 'array', description: 'Only whether each secret is set; never its value.', items: obj({ name: str, key: str, env: str, present: { type: 'boolean' }, note: str }) },
  }),
  Run: obj({ runId: str, total: int, done: int, finished: { type: 'boolean' }, counts: obj(Object.fromEntries(JOB_STATES.map((s) => [s, int]))), jobs: { type: 'array', items: ref('Job') } }),
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'ipaas-openai service API',
    version: '1',
    description:
      'The JSON API behind the dashboard: manual sync, the queue, the sync log, validation, configuration and metrics. ' +
      'State-changing calls (POST) always need `Authorization: Bearer <admin token>` (IPAAS_OPENAI_ADMIN_TOKEN). ' +
      'Reads need it too unless the service listens on 127.0.0.1 / ::1 only. Secrets are never returned: the configuration shows them as present or absent.',
  },
  components: {
    securitySchemes: {
      adminToken: { type: 'http', scheme: 'bearer', description: 'IPAAS_OPENAI_ADMIN_TOKEN (or server.adminToken); generated at start and printed when not configured.' },
      webhookKey: { type: 'http', scheme: 'bearer', description: "The iPaaS.com subscription's Webhook API Key (IPAAS_WEBHOOK_KEY)." },
    },
    schemas,
  },
  paths: {
    '/': { get: { summary: 'The dashboard page (HTML; holds no data and no secrets).', security: [{}], responses: { 200: { description: 'HTML', content: { 'text/html': {} } } } } },
    '/openapi.json': { get: { summary: 'This document.', security: [{}], responses: { 200: json({ type: 'object' }) } } },
    '/healthz': { get: { summary: 'The process answers.', security: [{}], responses: { 200: json(obj({ ok: { type: 'boolean' }, startedAt: str })) } } },
    '/readyz': { get: { summary: 'Store, mappings and workers are ready (503 with the failing check otherwise).', security: [{}], responses: { 200: json({ type: 'object' }), 503: json({ type: 'object' }, 'Not ready; each check says why.') } } },
    '/metrics': { get: { summary: 'Prometheus metrics (text format 0.0.4): records by outcome, OpenAI latency, tokens, cost, 429s, queue depth, rate-limit headroom.', ...read, responses: { 200: { description: 'Prometheus text', content: { 'text/plain': {} } }, 401: errors[401] } } },
    '/webhooks/ipaas': { post: { summary: "iPaaS.com's outbound webhooks (customer/created, customer/updated); acknowledged once the jobs are stored.", security: [{ webhookKey: [] }], requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } }, responses: { 200: json({ type: 'object' }), ...errors } } },
    '/api/auth/check': { post: { summary: 'Checks an admin token (200 when it is right).', ...write, responses: { 200: json(obj({ ok: { type: 'boolean' } })), 401: errors[401] } } },
    '/api/sync': {
      post: {
        summary: "Manual sync (iPaaS.com's Manual Sync page): up to 3,000 CustomerNumbers and/or iPaaS ids per run; debug jumps the queue.",
        ...write,
        requestBody: { required: true, content: { 'application/json': { schema: obj({ customerNumbers: { type: 'array', items: str }, ids: { type: 'array', items: { type: ['string', 'integer'] } }, debug: { type: 'boolean', default: false } }, { additionalProperties: false }) } } },
        responses: { 202: json(obj({ runId: str, enqueued: int, statusUrl: str }), 'Queued.'), ...errors },
      },
    },
    '/api/runs/{runId}': { get: { summary: 'Progress of a manual sync run.', ...read, parameters: [{ name: 'runId', in: 'path', required: true, schema: str }], responses: { 200: json(ref('Run')), 401: errors[401], 404: json(ref('Error'), 'No such run.') } } },
    '/api/jobs': { get: { summary: 'The queue: counts by state and jobs, newest first.', ...read, parameters: [query('state', { enum: JOB_STATES }, 'Only jobs in this state.'), ...paging], responses: { 200: json(obj({ counts: { type: 'object' }, jobs: { type: 'array', items: ref('Job') } })), ...errors } } },
    '/api/jobs/{id}': { get: { summary: 'One job.', ...read, parameters: [idParam('id', 'Job id.')], responses: { 200: json(ref('Job')), 401: errors[401], 404: json(ref('Error'), 'No such job.') } } },
    '/api/retry': { post: { summary: 'Re-runs dead-lettered (failed) jobs: the given ones, or all.', ...write, requestBody: { content: { 'application/json': { schema: obj({ jobIds: { type: 'array', items: int } }) } } }, responses: { 200: json(obj({ requeued: int })), ...errors } } },
    '/api/attempts': { get: { summary: 'Sync attempts, whole, newest first.', ...read, parameters: [query('customerNumber', str, 'Only this record.'), query('outcome', { enum: OUTCOMES }, 'Only this outcome.'), ...paging], responses: { 200: json(obj({ attempts: { type: 'array', items: ref('Attempt') } })), ...errors } } },
    '/api/attempts/{id}': { get: { summary: 'One sync attempt: the request sent, the response, the fields written before -> after, the error and its fix.', ...read, parameters: [idParam('id', 'Attempt id.')], responses: { 200: json(ref('Attempt')), 401: errors[401], 404: json(ref('Error'), 'No such attempt.') } } },
    '/api/attempts/{id}/retry': {
      post: {
        summary: "Syncs this attempt's record again: a failed job resumes (a stored answer is written without a new OpenAI call); otherwise a new job is queued.",
        ...write,
        parameters: [idParam('id', 'Attempt id.')],
        responses: { 202: json(obj({ mode: { enum: ['requeued', 'enqueued'] }, jobIds: { type: 'array', items: int }, runId: nstr, statusUrl: str }), 'Queued.'), 401: errors[401], 404: json(ref('Error'), 'No such attempt.'), 409: json(ref('Error'), 'The record is still queued, or names no customer.') },
      },
    },
    '/api/activity': {
      get: {
        summary: 'The sync log as a searchable, paged list (small columns only), newest first.',
        ...read,
        parameters: [
          query('q', str, 'Matches CustomerNumber, requested reference, iPaaS id, trigger or reason.'),
          query('customerNumber', str, 'Only this CustomerNumber (exact).'),
          query('customerId', str, 'Only this iPaaS.com customer id (exact).'),
          query('requestedRef', str, 'Only attempts asked for by this reference (exact; records without a number).'),
          query('outcome', { enum: OUTCOMES }, 'Only this outcome.'),
          query('since', { type: 'string', format: 'date-time' }, 'Finished at or after (ISO 8601).'),
          query('until', { type: 'string', format: 'date-time' }, 'Finished before (ISO 8601).'),
          ...paging,
        ],
        responses: { 200: json(obj({ total: int, limit: int, offset: int, items: { type: 'array', items: ref('ActivityItem') } })), ...errors },
      },
    },
    '/api/overview': {
      get: {
        summary: 'Records synced / skipped / failed / queued over time, today’s OpenAI calls, tokens and cost, rate-limit headroom and queue depth.',
        ...read,
        parameters: [query('range', { enum: ['1h', '24h', '7d'], default: '24h' }, 'Chart range.'), query('dayStart', { type: 'string', format: 'date-time' }, "Start of 'today' (default: the server's local midnight).")],
        responses: { 200: json(ref('Overview')), ...errors },
      },
    },
    '/api/validation': { get: { summary: "The seed's validation checklist, run live now; each item pass / warn / fail with its fix. Writes nothing.", ...read, responses: { 200: json(obj({ ok: { type: 'boolean' }, checkedAt: str, results: { type: 'array', items: ref('CheckResult') } })), 401: errors[401] } } },
    '/api/config': { get: { summary: 'The mapping collections (FROM and TO), status, trigger events and settings; secrets only as present / absent.', ...read, responses: { 200: json(ref('ConfigView')), 401: errors[401] } } },
  },
} as const;
