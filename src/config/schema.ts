import { z } from 'zod';
import { TRANSFORM_HELP, TRANSFORM_PATTERN } from '../mapping/transforms.js';

/** Data types iPaaS.com custom fields can have. */
export const customFieldTypes = ['string', 'number', 'bool', 'guid', 'encrypted', 'password', 'date', 'datetime', 'enum'] as const;
export type CustomFieldType = (typeof customFieldTypes)[number];

export const triggerEvents = ['Manual', 'Customer Create', 'Customer Update', 'Product Create', 'Product Update'] as const;
export const dataModels = ['Customer', 'Product'] as const;
export type TriggerEvent = (typeof triggerEvents)[number];

const mappingSchema = z
  .object({
    type: z.enum(['Field', 'Static', 'Formula']).describe('Field = 1-to-1 copy, Static = fixed text, Formula = safe expression with iPaaS.com helper names'),
    source: z.string().describe('Field name, static text, or formula'),
    destination: z.string().min(1).describe('Target field: OpenAI request field (FROM) or iPaaS.com field / custom field (TO)'),
    description: z.string().optional().describe('Tells the model what to put in this field (TO answer fields)'),
    transform: z
      .string()
      .regex(TRANSFORM_PATTERN, `one of ${TRANSFORM_HELP}`)
      .optional()
      .describe('FROM mappings only: what is done to the value before it leaves for OpenAI (drop, hash = keyed HMAC, mask-email = domain only, truncate:N)'),
  })
  .strict();
export type Mapping = z.infer<typeof mappingSchema>;

const collectionSchema = z
  .object({
    name: z.string().min(1),
    dataModel: z.enum(dataModels).default('Customer').describe('The iPaaS.com data model the collection maps: Customer (identity CustomerNumber) or Product (identity SKU)'),
    direction: z.enum(['FROM iPaaS', 'TO iPaaS']),
    status: z.enum(['Enabled', 'Disabled']).default('Enabled'),
    triggerEvents: z.array(z.enum(triggerEvents)).default(['Manual', 'Customer Create', 'Customer Update']),
    filter: z
      .object({
        recordType: z.enum(dataModels).optional().describe('Must equal dataModel when given'),
        expression: z.string().optional().describe('Formula that must be true for a record to be synced, e.g. !IsEmpty(EmailAddress)'),
      })
      .strict()
      .default({}),
    mappings: z.array(mappingSchema).min(1),
    review: z.enum(['off', 'required']).optional().describe('TO collections: overrides sync.review for the answers this collection writes'),
  })
  .strict();
export type MappingCollection = z.infer<typeof collectionSchema>;

const priceSchema = z
  .object({
    input: z.number().nonnegative().describe('USD per 1M input tokens'),
    cachedInput: z.number().nonnegative().describe('USD per 1M cached input tokens'),
    output: z.number().nonnegative().describe('USD per 1M output tokens'),
  })
  .strict();
export type Price = z.infer<typeof priceSchema>;

const capSchema = z
  .object({
    tokens: z.number().int().positive().optional().describe('Input + output tokens'),
    usd: z.number().positive().optional().describe('Cost in USD from the price table'),
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    instance: z.string().trim().min(1).max(100).optional().describe('This process\'s name among several instances, recorded on every attempt and log line (env IPAAS_OPENAI_INSTANCE; default host:pid)'),
    ipaas: z
      .object({
        baseUrl: z.url().default('https://api.ipaas.com'),
        apiKey: z.string().min(1).optional().describe('Prefer the IPAAS_API_KEY environment variable'),
        login: z
          .object({ email: z.string().min(1), password: z.string().min(1).optional() })
          .strict()
          .optional()
          .describe('Log in through /sso instead of an API key; the password comes from IPAAS_PASSWORD'),
        timeoutMs: z.number().int().positive().default(30_000),
        maxRetries: z.number().int().min(0).max(10).default(2),
        throttlePerSecond: z.number().positive().optional().describe("iPaaS.com's API Throttle Limit: at most this many calls per second"),
      })
      .strict()
      .default({ baseUrl: 'https://api.ipaas.com', timeoutMs: 30_000, maxRetries: 2 }),
    openai: z
      .object({
        baseUrl: z.url().default('https://api.openai.com/v1'),
        apiKey: z.string().min(1).optional().describe('Prefer the OPENAI_API_KEY environment variable'),
        model: z.string().min(1).default('gpt-5-nano'),
        api: z.enum(['responses', 'chat']).default('responses').describe('responses = OpenAI Responses API; chat = Chat Completions (OpenAI-compatible servers)'),
        temperature: z.number().min(0).max(2).optional().describe('Only for models that take it (not gpt-5 / o-series)'),
        reasoningEffort: z.enum(['minimal', 'low', 'medium', 'high']).optional().describe('Only for reasoning models (gpt-5, o-series)'),
        timeoutMs: z.number().int().positive().default(60_000),
        maxRetries: z.number().int().min(0).max(10).default(2),
        maxOutputTokens: z.number().int().positive().default(2048),
        prices: z.record(z.string(), priceSchema).default({}).describe('USD per 1M tokens by model; overrides the built-in table'),
        rpm: z.number().positive().optional().describe('Requests per minute of the OpenAI project, if known (otherwise learnt from x-ratelimit headers)'),
        tpm: z.number().positive().optional().describe('Tokens per minute of the OpenAI project, if known (otherwise learnt from x-ratelimit headers)'),
        throttlePerSecond: z.number().positive().optional().describe("The OpenAI subscription's API Throttle Limit in iPaaS.com: at most this many OpenAI calls start per second"),
        store: z.boolean().default(false).describe('Let OpenAI keep the responses (Responses API store); off by default: customer data is not kept at OpenAI beyond the call'),
        serviceTier: z
          .enum(['auto', 'default', 'flex', 'priority'])
          .optional()
          .describe('service_tier sent with every call; flex = Batch prices on direct calls, slower answers, and "resource unavailable" when flex has no capacity (see flexFallback)'),
        flexTimeoutMs: z.number().int().positive().default(900_000).describe('Timeout of a flex call (OpenAI suggests about 15 minutes)'),
        flexFallback: z
          .enum(['retry', 'default', 'batch'])
          .default('retry')
          .describe('When flex has no capacity: retry the record later (queue backoff), send it now at the default tier (full price), or put it in an OpenAI batch (sync --all only)'),
        webhookSecret: z
          .string()
          .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "give the endpoint's signing secret as OpenAI shows it: whsec_ followed by base64")
          .optional()
          .describe('Signing secret of the OpenAI webhook endpoint (whsec_…) that POST /webhooks/openai verifies; prefer OPENAI_WEBHOOK_SECRET. Without it that route is off'),
      })
      .strict()
      .default({ baseUrl: 'https://api.openai.com/v1', model: 'gpt-5-nano', api: 'responses', timeoutMs: 60_000, maxRetries: 2, maxOutputTokens: 2048, prices: {}, store: false, flexTimeoutMs: 900_000, flexFallback: 'retry' }),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        webhookApiKey: z.string().min(8).optional().describe("The Webhook API Key iPaaS.com sends as Bearer token; prefer IPAAS_WEBHOOK_KEY"),
        webhookHmacSecret: z.string().min(8).optional().describe('If set, webhooks must carry x-ipaas-signature: sha256=<HMAC of the body>; prefer IPAAS_WEBHOOK_HMAC_SECRET'),
        adminToken: z.string().min(12).optional().describe('Bearer token for the HTTP API and dashboard; prefer IPAAS_OPENAI_ADMIN_TOKEN (a random one is made at start when absent)'),
        bodyLimitBytes: z.number().int().positive().default(1_048_576),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 1_048_576 }),
    budget: z
      .object({
        daily: capSchema.optional().describe('Caps for one UTC day'),
        monthly: capSchema.optional().describe('Caps for one UTC calendar month'),
      })
      .strict()
      .default({})
      .describe('Spend caps: when reached, new work waits as "held: budget" (nothing is dropped) until the next period or a raised cap'),
    batch: z
      .object({
        maxLinesPerFile: z
          .number()
          .int()
          .min(1)
          .max(50_000)
          .default(10_000)
          .describe("OpenAI allows 50,000 requests per file; smaller files keep memory flat (the SDK uploads a file from memory)"),
        maxFileBytes: z.number().int().min(1024).max(200 * 1024 * 1024).default(200 * 1024 * 1024).describe("OpenAI's limit is 200 MB per file"),
        pollMinMs: z.number().int().positive().default(5_000),
        pollMaxMs: z.number().int().positive().default(300_000),
        onLineFailure: z.enum(['direct', 'retry']).default('direct').describe('A failed or expired batch line: send it as a direct call, or put it in the next batch'),
        discount: z.number().min(0).max(1).default(0.5).describe('Batch price as a share of the direct price'),
        webhookPollMs: z
          .number()
          .int()
          .positive()
          .default(600_000)
          .describe('With OpenAI webhooks on (openai.webhookSecret), a batch is polled at most this often: the webhook applies it at once, polling is the safety net'),
      })
      .strict()
      .default({ maxLinesPerFile: 10_000, maxFileBytes: 200 * 1024 * 1024, pollMinMs: 5_000, pollMaxMs: 300_000, onLineFailure: 'direct', discount: 0.5, webhookPollMs: 600_000 }),
    jobs: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(16).describe('Records in flight at once (the rate limiter may allow fewer OpenAI calls)'),
        maxAttempts: z.number().int().min(1).max(50).default(6).describe('Tries per record before it is dead-lettered (failed)'),
        leaseMs: z.number().int().positive().default(120_000).describe('A crashed worker\'s jobs come back after this long'),
        retryBaseMs: z.number().int().positive().default(2_000),
        retryMaxMs: z.number().int().positive().default(300_000),
      })
      .strict()
      .default({ concurrency: 16, maxAttempts: 6, leaseMs: 120_000, retryBaseMs: 2_000, retryMaxMs: 300_000 }),
    store: z
      .object({
        path: z.string().min(1).default('data/ipaas-openai.db').describe('The SQLite file (the embedded default: one process on one machine)'),
        url: z.string().min(1).optional().describe('postgres:// or postgresql:// URL: several instances share one queue, rate budget and spend ledger (wins over path)'),
      })
      .strict()
      .default({ path: 'data/ipaas-openai.db' }),
    log: z
      .object({
        path: z.string().min(1).default('data/ipaas-openai.log').describe('JSON log file; "-" writes to stderr (containers)'),
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        retainDays: z
          .number()
          .int()
          .min(1)
          .default(30)
          .describe('Bodies in the sync log (request, response, answer, fields written, error message; prompt-lab trials and finished jobs alike) are blanked after this many days: serve purges at start and daily, `ipaas-openai purge` on demand; tokens, cost and outcomes stay'),
      })
      .strict()
      .default({ path: 'data/ipaas-openai.log', level: 'info', retainDays: 30 }),
    privacy: z
      .object({
        hashKey: z.string().min(16).optional().describe('Key of the hash transform (HMAC-SHA256); prefer IPAAS_OPENAI_HASH_KEY. Changing it changes every hash'),
        safetyIdentifier: z.boolean().default(true).describe("Send OpenAI a safety_identifier: a hash of the CustomerNumber, never the number"),
        promptCacheKey: z.boolean().default(true).describe('Send OpenAI a prompt_cache_key from the prompt version, so requests with one PromptText share the prompt cache'),
      })
      .strict()
      .default({ safetyIdentifier: true, promptCacheKey: true }),
    sync: z
      .object({
        concurrency: z.number().int().min(1).max(64).default(4),
        autoCreateCustomFields: z.boolean().default(true).describe('Create the custom fields the mappings reference when they are missing'),
        maxIdsPerRun: z.number().int().positive().default(3000),
        humanEdits: z
          .enum(['flag', 'keep', 'overwrite'])
          .default('flag')
          .describe('A connector-owned field a person edited since the last write: keep it, keep it and flag the record, or overwrite it'),
        review: z
          .enum(['off', 'required'])
          .default('off')
          .describe('required: an answer waits for a person (ipaas-openai review, or the Review page) before anything is written to iPaaS.com'),
      })
      .strict()
      .default({ concurrency: 4, autoCreateCustomFields: true, maxIdsPerRun: 3000, humanEdits: 'flag', review: 'off' }),
    customFields: z
      .array(
        z
          .object({
            name: z.string().min(1),
            dataType: z.enum(customFieldTypes),
            description: z.string().optional(),
            module: z.enum(dataModels).default('Customer').describe('The iPaaS.com module the custom field belongs to'),
          })
          .strict(),
      )
      .describe('Custom field definitions the mappings rely on (created when missing and autoCreateCustomFields is on)'),
    mappingCollections: z.array(collectionSchema).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.mappingCollections.forEach((col, i) => {
      if (col.filter.recordType && col.filter.recordType !== col.dataModel) {
        ctx.addIssue({ code: 'custom', path: ['mappingCollections', i, 'filter', 'recordType'], message: `"${col.name}" maps ${col.dataModel}: its filter.recordType must be ${col.dataModel} (or left out)` });
      }
      const wrong = col.triggerEvents.filter((e) => e !== 'Manual' && !e.startsWith(col.dataModel));
      if (wrong.length) ctx.addIssue({ code: 'custom', path: ['mappingCollections', i, 'triggerEvents'], message: `"${col.name}" maps ${col.dataModel}: ${wrong.join(', ')} ${wrong.length > 1 ? 'are events' : 'is an event'} of another data model` });
    });
    c.mappingCollections.forEach((col, i) =>
      col.mappings.forEach((m, j) => {
        if (!m.transform) return;
        const path = ['mappingCollections', i, 'mappings', j, 'transform'];
        if (col.direction === 'TO iPaaS') ctx.addIssue({ code: 'custom', path, message: `"${col.name}" writes to iPaaS.com: transforms apply to what is sent to OpenAI, in FROM collections only` });
        else if (m.transform === 'hash' && !c.privacy.hashKey) ctx.addIssue({ code: 'custom', path, message: 'the hash transform needs a key: set IPAAS_OPENAI_HASH_KEY (16 characters or more), or privacy.hashKey' });
      }),
    );
  });

export type ConnectorConfigInput = z.input<typeof configSchema>;
export type ConnectorConfig = z.infer<typeof configSchema>;
