/**
 * The webhook endpoint's configuration: parsed once from the emulator options, changed by PATCH
 * /__emulator/settings `{"webhook": {...}}`. A URL without a secret cannot sign, so it is refused.
 */
import { z } from 'zod';
import { fieldIssues, summarize } from '../zod-issues.js';
import { webhookSecretProblem } from './webhook-signing.js';
import type { WebhookOptions, WebhookSettings, WebhookSettingsPatch } from './webhook-types.js';

/** [decided] OpenAI retries "with exponential backoff for up to 72 hours" (its schedule is not published):
 * 8 attempts 5 s apart, doubling (about 10 minutes in all), shrunk in tests with retryBaseMs. */
export const WEBHOOK_DEFAULTS = { maxAttempts: 8, retryBaseMs: 5_000 } as const;
const MAX_TIMER_MS = 2_147_483_647;

export interface WebhookConfig {
  url: string | null;
  secret: string | null;
  maxAttempts: number;
  retryBaseMs: number;
}

export function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const urlMessage = 'webhook.url must be an http(s) URL, or null to stop sending webhooks.';
const attemptsMessage = 'webhook.maxAttempts must be a whole number from 1 to 100 (the first attempt included).';
const retryMessage = `webhook.retryBaseMs must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}.`;

export const WebhookPatchSchema = z.strictObject(
  {
    url: z.string({ error: urlMessage }).refine(isHttpUrl, { error: urlMessage }).nullable().optional(),
    secret: z
      .string({ error: "webhook.secret must be a string: 'whsec_' followed by base64." })
      .superRefine((s, ctx) => {
        const problem = webhookSecretProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: `webhook.secret: ${problem}` });
      })
      .optional(),
    maxAttempts: z.int({ error: attemptsMessage }).min(1, { error: attemptsMessage }).max(100, { error: attemptsMessage }).optional(),
    retryBaseMs: z.int({ error: retryMessage }).min(0, { error: retryMessage }).max(MAX_TIMER_MS, { error: retryMessage }).optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `Unknown webhook setting ${issue.keys.map((k) => `"${k}"`).join(', ')}; they are url, secret, maxAttempts and retryBaseMs.`
        : issue.code === 'invalid_type'
          ? 'webhook must be an object with any of url, secret, maxAttempts and retryBaseMs.'
          : undefined,
  },
);

/** The configuration a patch leads to, or the reason it cannot be (a URL with no secret to sign with). */
export function patchedWebhookConfig(current: WebhookConfig, p: WebhookSettingsPatch): WebhookConfig | { problem: string } {
  const next: WebhookConfig = {
    url: p.url === undefined ? current.url : p.url,
    secret: p.secret ?? current.secret,
    maxAttempts: p.maxAttempts ?? current.maxAttempts,
    retryBaseMs: p.retryBaseMs ?? current.retryBaseMs,
  };
  if (next.url !== null && next.secret === null) {
    return { problem: "webhook.secret is required with webhook.url: the endpoint's signing secret, 'whsec_' followed by base64." };
  }
  return next;
}

/** From the emulator options; throws an Error naming the bad option (a setup mistake, found at start). */
export function webhookConfigFromOptions(o: WebhookOptions = {}): WebhookConfig {
  const parsed = WebhookPatchSchema.safeParse(o);
  if (!parsed.success) throw new Error(`Invalid OpenAI emulator option: ${summarize(fieldIssues(parsed.error))}`);
  const next = patchedWebhookConfig({ url: null, secret: null, ...WEBHOOK_DEFAULTS }, parsed.data);
  if ('problem' in next) throw new Error(`Invalid OpenAI emulator option: ${next.problem}`);
  return next;
}

/** What the settings show: never the secret itself. */
export function webhookSettings(c: WebhookConfig): WebhookSettings {
  return { url: c.url, secretSet: c.secret !== null, maxAttempts: c.maxAttempts, retryBaseMs: c.retryBaseMs };
}
