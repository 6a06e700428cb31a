/**
 * The OpenAI emulator's live knobs (PATCH /__emulator/settings): latency (flex has its own), RPM/TPM,
 * the batch timings, whether batch creates are answered, and the webhook endpoint. Only what is safe
 * to change while requests run: the limiter refills on a change, batch timings apply to the next timer
 * a batch starts (a timer already running keeps its delay), batchCreate to the next POST /v1/batches (a
 * create already held stays held until its client gives up), and the webhook to the next event.
 */
import { z } from 'zod';
import { fieldIssues, summarize } from '../zod-issues.js';
import { BATCH_DEFAULTS, BATCH_FAST } from './batches.js';
import { ApiError } from './errors.js';
import type { RateLimiter } from './rate-limits.js';
import { patchedWebhookConfig, WebhookPatchSchema, webhookSettings, type WebhookConfig } from './webhook-config.js';
import type { BatchCreateMode, BatchOptions, BatchTimings, OpenAISettings, OpenAISettingsPatch } from './types.js';

/** The mutable state the app reads on every request. */
export interface LiveKnobs {
  latencyMs: number;
  /** Instead of latencyMs for completions served with service_tier 'flex'. */
  flexLatencyMs: number;
  limiter: RateLimiter;
  /** The BatchManager's own options object: changes are seen by its next timer. */
  batch: Required<BatchOptions>;
  /** 'lost': POST /v1/batches creates the batch and withholds the answer (app.ts). */
  batchCreate: BatchCreateMode;
  /** The WebhookSender's own config object: an event reads it when it starts. */
  webhook: WebhookConfig;
}

export const BATCH_CREATE_MODES = ['answer', 'lost'] as const satisfies readonly BatchCreateMode[];

const MAX_LATENCY_MS = 600_000;
const MAX_TIMER_MS = 2_147_483_647;
const TIMING_KEYS = ['validatingMs', 'msPerLine', 'finalizingMs', 'cancellingMs'] as const;

const millis = (name: string, max: number) => {
  const message = `${name} must be a whole number of milliseconds from 0 to ${max}.`;
  return z.int({ error: message }).min(0, { error: message }).max(max, { error: message }).optional();
};
const perMinute = (name: string) => {
  const message = `${name} must be a whole number >= 1 (a per-minute limit).`;
  return z.int({ error: message }).min(1, { error: message }).optional();
};
const unknownKeys = (allowed: string) => (issue: z.core.$ZodRawIssue): string | undefined =>
  issue.code === 'unrecognized_keys'
    ? `Unknown setting ${issue.keys.map((k) => `"${k}"`).join(', ')}; the settings that can change are ${allowed}.`
    : issue.code === 'invalid_type'
      ? `Send a JSON object with any of ${allowed}.`
      : undefined;

const SettingsPatchSchema = z.strictObject(
  {
    latencyMs: millis('latencyMs', MAX_LATENCY_MS),
    flexLatencyMs: millis('flexLatencyMs', MAX_LATENCY_MS),
    rpm: perMinute('rpm'),
    tpm: perMinute('tpm'),
    batchSpeed: z.enum(['fast', 'real'], { error: 'batchSpeed must be "fast" or "real".' }).optional(),
    batchCreate: z
      .enum(BATCH_CREATE_MODES, { error: 'batchCreate must be "answer" or "lost" (POST /v1/batches creates the batch and never answers).' })
      .optional(),
    batch: z
      .strictObject(
        Object.fromEntries(TIMING_KEYS.map((k) => [k, millis(`batch.${k}`, MAX_TIMER_MS)])) as Record<
          (typeof TIMING_KEYS)[number],
          ReturnType<typeof millis>
        >,
        { error: unknownKeys(TIMING_KEYS.join(', ')) },
      )
      .optional(),
    webhook: WebhookPatchSchema.optional(),
  },
  { error: unknownKeys('latencyMs, flexLatencyMs, rpm, tpm, batchSpeed, batch, batchCreate and webhook') },
);

const invalidSettings = (message: string, param: string | null): ApiError =>
  new ApiError(400, 'invalid_request_error', `Invalid settings: ${message} Example: {"latencyMs":250,"rpm":60,"batchSpeed":"fast"}.`, param, 'invalid_settings');

export function parseSettingsPatch(body: unknown): OpenAISettingsPatch {
  const parsed = SettingsPatchSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = fieldIssues(parsed.error);
  throw invalidSettings(summarize(issues), issues[0]?.field ?? null);
}

export function currentSettings(k: LiveKnobs): OpenAISettings {
  const batch = Object.fromEntries(TIMING_KEYS.map((key) => [key, k.batch[key]])) as BatchTimings;
  return {
    latencyMs: k.latencyMs,
    flexLatencyMs: k.flexLatencyMs,
    rpm: k.limiter.requests.capacity,
    tpm: k.limiter.tokens.capacity,
    batch,
    batchCreate: k.batchCreate,
    webhook: webhookSettings(k.webhook),
  };
}

/** Validates (throws a 400 ApiError) and applies a patch; returns the settings now in force. */
export function applySettings(k: LiveKnobs, raw: OpenAISettingsPatch): OpenAISettings {
  const p = parseSettingsPatch(raw);
  // Checked before anything changes, so a refused patch leaves every setting as it was.
  const webhook = p.webhook ? patchedWebhookConfig(k.webhook, p.webhook) : undefined;
  if (webhook && 'problem' in webhook) throw invalidSettings(webhook.problem, 'webhook.secret');
  if (webhook) Object.assign(k.webhook, webhook);
  if (p.latencyMs !== undefined) k.latencyMs = p.latencyMs;
  if (p.flexLatencyMs !== undefined) k.flexLatencyMs = p.flexLatencyMs;
  if (p.rpm !== undefined || p.tpm !== undefined) {
    k.limiter.setLimits({ ...(p.rpm !== undefined ? { rpm: p.rpm } : {}), ...(p.tpm !== undefined ? { tpm: p.tpm } : {}) });
  }
  if (p.batchSpeed === 'fast') Object.assign(k.batch, BATCH_FAST);
  if (p.batchSpeed === 'real') for (const key of TIMING_KEYS) k.batch[key] = BATCH_DEFAULTS[key];
  for (const key of TIMING_KEYS) {
    const v = p.batch?.[key];
    if (v !== undefined) k.batch[key] = v;
  }
  if (p.batchCreate !== undefined) k.batchCreate = p.batchCreate;
  return currentSettings(k);
}
