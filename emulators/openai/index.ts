/**
 * Local emulator of the OpenAI API (Responses, Chat Completions, Models, Files, Batches) for tests, the
 * demo and benchmarks. Answers are deterministic (see answer.ts), errors and headers are OpenAI's.
 */
export { createOpenAIEmulator, DEFAULT_API_KEY, DEFAULT_MAX_OUTPUT_TOKENS, DEFAULT_MODELS } from './app.js';
export type {
  BatchControl,
  BatchCreateMode,
  BatchOptions,
  OpenAICounters,
  OpenAIEmulator,
  OpenAIEmulatorOptions,
  OpenAIFault,
  OpenAISettings,
  OpenAISettingsPatch,
  PendingFault,
  RecordedRequest,
} from './types.js';
export { BATCH_DEFAULTS, BATCH_FAST, parseBatchInput, type BatchError, type BatchStatus } from './batches.js';
export { DEFAULT_MAX_UPLOAD_BYTES } from './files.js';
export { buildSummary, answersKnownToFilm, generateAnswer, parseCustomerData, isGullible } from './answer.js';
export { estimateInputTokens, estimatePrefixTokens, countTokens } from './tokens.js';
export { validateStrictSchema } from './strict-schema.js';
export { isReasoningModel } from './request.js';
export { REASONING_TOKENS, REFUSAL_TEXT } from './completion.js';
export { maskApiKey } from './errors.js';
export { formatGoDuration } from './rate-limits.js';
export { WEBHOOK_DEFAULTS } from './webhook-config.js';
export { WEBHOOK_DELIVERY_TIMEOUT_MS, WEBHOOK_USER_AGENT } from './webhook-sender.js';
export { newWebhookSecret, signWebhook } from './webhook-signing.js';
export {
  WEBHOOK_EVENT_TYPES,
  type WebhookControl,
  type WebhookDelivery,
  type WebhookEvent,
  type WebhookEventType,
  type WebhookOptions,
  type WebhookSendRequest,
  type WebhookSendResult,
  type WebhookSettings,
  type WebhookSettingsPatch,
} from './webhook-types.js';
