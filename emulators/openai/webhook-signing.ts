/**
 * Standard Webhooks signing, as OpenAI signs its webhooks: `webhook-signature: v1,<base64 HMAC-SHA256>`
 * over `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed with the base64-decoded part of the
 * endpoint secret after its `whsec_` prefix (the verifier in openai-node, lib/webhook-signature,
 * decodes it the same way). Kept apart from delivery so a test can sign on its own to compare.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why `secret` cannot sign (not `whsec_` + base64 of at least one byte), or null when it can. */
export function webhookSecretProblem(secret: string): string | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return `the secret must start with '${WEBHOOK_SECRET_PREFIX}' (an OpenAI webhook signing secret).`;
  const key = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (key === '' || !BASE64_RE.test(key)) return `the part after '${WEBHOOK_SECRET_PREFIX}' must be base64 (A-Z, a-z, 0-9, +, /, = padding).`;
  return null;
}

/** `v1,<base64>` for one delivery attempt. */
export function signWebhook(secret: string, webhookId: string, timestamp: number, rawBody: string): string {
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestamp}.${rawBody}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/** A fresh secret in OpenAI's format (24 random bytes, as Standard Webhooks libraries make them). */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}
