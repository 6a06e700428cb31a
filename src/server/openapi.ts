import { JOB_STATES } from '../queue/job-states.js';
import { ATTEMPT_OUTCOMES, MESSAGE_OUTCOMES } from '../store/ports.js';
import { errors, idParam, int, json, nstr, num, obj, OUTCOMES, pagingParams, query, read, ref, schemas, str, write } from './openapi-schemas.js';

/**
 * The HTTP API, documented (OpenAPI 3.1), served at /openapi.json. A test checks that every
 * route the app registers is in here and the other way round, so it cannot drift.
 */
const date = { type: 'string', format: 'date-time' };
const activityFilters = [
  query('q', str, 'Matches CustomerNumber, requested reference, iPaaS id, trigger or reason.'),
  query('customerNumber', str, 'Only this CustomerNumber (exact).'),
  query('customerId', str, 'Only this iPaaS.com customer id (exact).'),
  query('requestedRef', str, 'Only attempts asked for by this reference (exact; records without a number).'),
  query('outcome', { enum: ATTEMPT_OUTCOMES }, 'Only this outcome: failed is final, retrying will be tried again.'),
  query('trigger', str, 'Only this trigger label (exact: manual, manual-debug, webhook:updated, bulk, retry, …; /api/activity/facets lists those seen).'),
  query('errorCode', str, 'Only this error code (e.g. API_REQUEST_FAILED; /api/activity/facets lists those seen).'),
  query('since', date, 'Finished at or after (ISO 8601).'),
  query('until', date, 'Finished before (ISO 8601).'),
];
const notFound = (what: string) => json(ref('Error'), `No such ${what}.`);

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'ipaas-openai service API',
    version: '2',
    description:
      'The JSON API behind the dashboard: manual sync, the queue, the sync log, validation, configuration and metrics. ' +
      'An attempt is one try at one record (a row of the sync log); a record is a customer, counted once by its latest attempt; a job is a row of the queue (one per record per run). ' +
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
    '/metrics': {
      get: {
        summary: 'Prometheus metrics (text format 0.0.4). From the shared database (the whole cluster): attempts by outcome, tokens, cost, records by latest outcome, queue jobs. This instance\'s own: OpenAI latency, 429s, rate-limit headroom, limiter.',
        ...read,
        responses: { 200: { description: 'Prometheus text', content: { 'text/plain': {} } }, 401: errors[401] },
      },
    },
    '/webhooks/ipaas': { post: { summary: "iPaaS.com's outbound webhooks (customer/created, customer/updated); acknowledged once the jobs are stored.", security: [{ webhookKey: [] }], requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } }, responses: { 200: json({ type: 'object' }), ...errors } } },
    '/webhooks/openai': {
      post: {
        summary:
          "OpenAI's webhooks (batch.completed, batch.failed, batch.expired, batch.cancelled, response.*), verified per Standard Webhooks with the OpenAI SDK and OPENAI_WEBHOOK_SECRET. Each is stored as a Message (once per webhook-id), acknowledged, then acted on: an ended batch is applied at once. A replayed webhook-id is acknowledged and ignored.",
        security: [{}],
        parameters: [
          { name: 'webhook-id', in: 'header', required: true, schema: str, description: 'One per event; the same on every redelivery.' },
          { name: 'webhook-timestamp', in: 'header', required: true, schema: str, description: 'Unix seconds; refused when more than 300 s off.' },
          { name: 'webhook-signature', in: 'header', required: true, schema: str, description: 'v1,<base64 HMAC-SHA256 of id.timestamp.body>, keyed with the whsec_ secret.' },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: obj({ id: str, object: str, type: str, created_at: int, data: obj({ id: str }) }) } } },
        responses: {
          200: json(obj({ messageId: { ...str, description: 'The Message id: event type and source id, e.g. batch.completed:batch_abc.' }, webhookId: str, replay: { type: 'boolean' }, outcome: { enum: MESSAGE_OUTCOMES }, detail: str }), 'Stored (or a replay, ignored).'),
          400: json(ref('Error'), 'Not signed right (wrong signature, a timestamp outside 300 s, headers missing) or not an event: nothing was stored.'),
          503: json(ref('Error'), 'No signing secret is configured (the message names the variable), or the store cannot take it now: OpenAI delivers it again.'),
        },
      },
    },
    '/api/messages': {
      get: {
        summary: 'Messages: every inbound OpenAI webhook as stored, newest first, with what acting on it came to (lines applied, fallback taken, unknown batch, replays ignored, error and reason).',
        ...read,
        parameters: [query('outcome', { enum: MESSAGE_OUTCOMES }, 'Only this outcome.'), query('sourceId', str, 'Only Messages about this batch (or response) id.'), ...pagingParams(200, 25)],
        responses: { 200: json(obj({ total: int, limit: int, offset: int, messages: { type: 'array', items: ref('Message') } })), ...errors },
      },
    },
    '/api/auth/check': { post: { summary: 'Checks an admin token (200 when it is right).', ...write, responses: { 200: json(obj({ ok: { type: 'boolean' } })), 401: errors[401] } } },
    '/api/sync': {
      post: {
        summary: "Manual sync (iPaaS.com's Manual Sync page): up to 3,000 CustomerNumbers and/or iPaaS ids per run (ids reach customers without a number); debug jumps the queue.",
        ...write,
        requestBody: { required: true, content: { 'application/json': { schema: obj({ customerNumbers: { type: 'array', items: str }, ids: { type: 'array', items: { type: ['string', 'integer'] } }, debug: { type: 'boolean', default: false }, entity: { enum: ['customer', 'product'], default: 'customer', description: 'The data model: customerNumbers are SKUs for products.' } }, { additionalProperties: false }) } } },
        responses: { 202: json(obj({ runId: str, enqueued: int, statusUrl: str }), 'Queued.'), ...errors },
      },
    },
    '/api/runs': { get: { summary: 'Run history: manual syncs and backfills (sync --all), newest first, with their progress and outcome.', ...read, parameters: pagingParams(200, 25), responses: { 200: json(obj({ total: int, limit: int, offset: int, runs: { type: 'array', items: ref('RunItem') } })), ...errors } } },
    '/api/runs/{runId}': { get: { summary: 'Progress of one run, with its jobs.', ...read, parameters: [{ name: 'runId', in: 'path', required: true, schema: str }], responses: { 200: json(ref('Run')), 401: errors[401], 404: notFound('run') } } },
    '/api/jobs': {
      get: {
        summary: 'The queue: jobs by state (all of them), and jobs newest first, filtered.',
        ...read,
        parameters: [
          query('state', { enum: JOB_STATES }, 'Only jobs in this state.'), query('trigger', str, 'Only this trigger label.'), query('errorCode', str, 'Only jobs whose last error has this code.'),
          query('runId', str, 'Only the jobs of this run.'), query('ref', str, 'Only jobs for this CustomerNumber or iPaaS id.'), ...pagingParams(500, 50),
        ],
        responses: { 200: json(obj({ counts: { type: 'object', description: 'Jobs by state.' }, total: { ...int, description: 'Jobs matching the filters.' }, limit: int, offset: int, jobs: { type: 'array', items: ref('JobItem') } })), ...errors },
      },
    },
    '/api/jobs/{id}': { get: { summary: 'One job.', ...read, parameters: [idParam('id', 'Job id.')], responses: { 200: json(ref('Job')), 401: errors[401], 404: notFound('job') } } },
    '/api/retry': {
      post: {
        summary: 'Re-runs failed records: without a body, each record whose latest outcome is failed is queued once (its newest failed job, so a stored answer is written without a new call); with jobIds, those dead-lettered jobs. Ends a quota stop.',
        ...write,
        requestBody: { content: { 'application/json': { schema: obj({ jobIds: { type: 'array', items: int } }, { additionalProperties: false }) } } },
        responses: { 200: json(obj({ requeuedRecords: { ...int, description: 'Without jobIds: failed records queued again.' }, requeuedJobs: { ...int, description: 'With jobIds: jobs queued again.' }, releasedJobs: { ...int, description: 'Jobs held by a quota stop that went back to the queue.' } })), ...errors },
      },
    },
    '/api/review': {
      get: {
        summary: 'Answers waiting for a person before write-back (sync.review: required), oldest first, each with the writes it proposes (before -> after).',
        ...read,
        responses: { 200: json(obj({ waiting: int, oldestSince: nstr, items: { type: 'array', items: obj({ jobId: int, ref: str, customerId: nstr, since: str, runId: nstr, answer: { type: 'object', description: 'The stored answer with its proposal: [{field, before, after}].' } }) } })), ...errors },
      },
    },
    '/api/review/summary': { get: { summary: 'How many answers wait for review and since when the oldest waits (cheap: the menu polls it).', ...read, responses: { 200: json(ref('ReviewSummary')), 401: errors[401] } } },
    '/api/review/approve': {
      post: {
        summary: 'Approves waiting answers: the service writes them without a new OpenAI call; a field a person changed while it waited is kept.',
        ...write,
        requestBody: { content: { 'application/json': { schema: { oneOf: [obj({ jobIds: { type: 'array', items: int }, by: str }, { additionalProperties: false }), obj({ all: { const: true }, by: str }, { additionalProperties: false })] } } } },
        responses: { 202: json(obj({ approved: { type: 'array', items: int }, by: str, statusUrls: { type: 'array', items: str } }), 'Approved; the write follows.'), 404: notFound('job'), 409: json(ref('Error'), 'A named job is not waiting for review.'), ...errors },
      },
    },
    '/api/review/reject': {
      post: {
        summary: 'Rejects waiting answers: nothing is written; each record is logged as skipped with who rejected it and why.',
        ...write,
        requestBody: { content: { 'application/json': { schema: obj({ jobIds: { type: 'array', items: int }, reason: str, by: str }, { additionalProperties: false, required: ['jobIds', 'reason'] }) } } },
        responses: { 200: json(obj({ rejected: { type: 'array', items: int }, by: str })), 404: notFound('job'), 409: json(ref('Error'), 'A named job is not waiting for review.'), ...errors },
      },
    },
    '/api/trials/estimate': {
      post: {
        summary: 'Prompt lab: what a trial would cost. Builds the exact requests (customers loaded from iPaaS.com; a sample drawn) and counts them; nothing is sent to OpenAI or written.',
        ...write,
        requestBody: { required: true, content: { 'application/json': { schema: ref('TrialRequest') } } },
        responses: { 200: json(obj({ estimate: ref('TrialEstimate'), customerNumbers: { type: 'array', items: str, description: 'The customers it counted (the sample drawn): start the trial with these.' }, prompts: { type: 'array', items: ref('TrialPrompt') } })), 409: json(ref('Error'), 'The mappings cannot be used (e.g. no enabled FROM collection).'), ...errors },
      },
    },
    '/api/trials': {
      post: {
        summary: 'Prompt lab: starts a trial in this service and answers at once with its id; the calls go on in the background (real OpenAI calls, counted in the spend caps; nothing written to iPaaS.com; kept apart from the sync log). One at a time.',
        ...write,
        requestBody: { required: true, content: { 'application/json': { schema: ref('TrialRequest') } } },
        responses: { 202: json(obj({ trialId: str, status: str, customers: int, prompts: { type: 'array', items: ref('TrialPrompt') }, statusUrl: str }), 'Started.'), 409: json(ref('Error'), 'A trial is running already (or the mappings cannot be used).'), ...errors },
      },
      get: {
        summary: 'Prompt lab: trials, newest first (the CLI\'s too), with their calls and cost, and the one this service runs now.',
        ...read,
        parameters: [query('limit', { type: 'integer', minimum: 1, maximum: 100, default: 20 }, 'How many trials.')],
        responses: { 200: json(obj({ running: { oneOf: [ref('TrialProgress'), { type: 'null' }] }, trials: { type: 'array', items: obj({ trialId: str, startedAt: str, calls: int, customers: int, costUsd: num, status: { type: ['string', 'null'] } }) } })), ...errors },
      },
    },
    '/api/trials/{trialId}': { get: { summary: 'One trial: per customer both answers side by side with what each would write (before -> after), tokens and cost; the prompts with their text; the summary.', ...read, parameters: [{ name: 'trialId', in: 'path', required: true, schema: str }], responses: { 200: json(ref('Trial')), 401: errors[401], 404: notFound('trial') } } },
    '/api/prompts/{promptVersion}': { get: { summary: 'The text of a PromptText version (as attempts and trials name it), redacted.', ...read, parameters: [{ name: 'promptVersion', in: 'path', required: true, schema: str }], responses: { 200: json(obj({ id: str, text: str, firstSeen: str })), 401: errors[401], 404: notFound('prompt version') } } },
    '/api/attempts': { get: { summary: 'Sync attempts, whole, newest first.', ...read, parameters: [query('customerNumber', str, 'Only this record.'), query('outcome', { enum: OUTCOMES }, 'Only this stored outcome.'), ...pagingParams(500, 50)], responses: { 200: json(obj({ attempts: { type: 'array', items: ref('Attempt') } })), ...errors } } },
    '/api/attempts/{id}': { get: { summary: 'One sync attempt: the request sent, the response, the fields written before -> after, the error and its fix.', ...read, parameters: [idParam('id', 'Attempt id.')], responses: { 200: json(ref('Attempt')), 401: errors[401], 404: notFound('attempt') } } },
    '/api/attempts/{id}/retry': {
      post: {
        summary: "Syncs this attempt's record again: a failed job resumes (a stored answer is written without a new OpenAI call); otherwise a new job is queued.",
        ...write,
        parameters: [idParam('id', 'Attempt id.')],
        responses: { 202: json(obj({ mode: { enum: ['requeued', 'enqueued'] }, jobIds: { type: 'array', items: int }, runId: nstr, statusUrl: str }), 'Queued.'), 401: errors[401], 404: notFound('attempt'), 409: json(ref('Error'), 'The record is still queued, or names no customer.') },
      },
    },
    '/api/activity': {
      get: {
        summary: 'The sync log as a searchable, paged list of attempts (small columns only), newest first.',
        ...read,
        parameters: [...activityFilters, ...pagingParams(200, 25)],
        responses: { 200: json(obj({ total: { ...int, description: 'Attempts matching the filters.' }, limit: int, offset: int, items: { type: 'array', items: ref('ActivityItem') } })), ...errors },
      },
    },
    '/api/activity/facets': {
      get: {
        summary: 'The trigger labels and error codes of recent attempts, most frequent first (what the filters take).',
        ...read,
        parameters: [query('since', date, 'Attempts finished since (default: 30 days ago).')],
        responses: { 200: json(obj({ since: str, triggers: { type: 'array', items: obj({ value: str, attempts: int }) }, errorCodes: { type: 'array', items: obj({ value: str, attempts: int }) } })), ...errors },
      },
    },
    '/api/activity.csv': {
      get: {
        summary: 'The same attempts as /api/activity, all of them, as CSV (RFC 4180, UTF-8), newest first; streamed. No request or response bodies, no secrets.',
        ...read,
        parameters: activityFilters,
        responses: { 200: { description: 'CSV with a header line', content: { 'text/csv': {} } }, ...errors },
      },
    },
    '/api/overview': {
      get: {
        summary: "Attempts per time bucket and today, records by latest outcome, the queue's jobs, OpenAI tokens and cost today, rate-limit headroom.",
        ...read,
        parameters: [query('range', { enum: ['1h', '24h', '7d'], default: '24h' }, 'Chart range.'), query('dayStart', date, "Start of 'today' (default: the server's local midnight).")],
        responses: { 200: json(ref('Overview')), ...errors },
      },
    },
    '/api/usage': { get: { summary: 'OpenAI calls, tokens and cost per time bucket.', ...read, parameters: [query('range', { enum: ['24h', '7d', '30d'], default: '7d' }, 'Range: 48 half hours, 42 four-hour buckets, or 30 days.')], responses: { 200: json(ref('Usage')), ...errors } } },
    '/api/validation': { get: { summary: "The seed's validation checklist, run live now; each item pass / warn / fail with its fix. Writes nothing.", ...read, responses: { 200: json(obj({ ok: { type: 'boolean' }, checkedAt: str, results: { type: 'array', items: ref('CheckResult') } })), 401: errors[401] } } },
    '/api/config': { get: { summary: 'The mapping collections (FROM and TO), status, trigger events and settings; secrets only as present / absent.', ...read, responses: { 200: json(ref('ConfigView')), 401: errors[401] } } },
  },
} as const;


