import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { OpenAIRequest } from './build-request.js';
import { costUsd, priceFor, type TokenUsage } from './prices.js';
import type { Price } from '../config/schema.js';

/** Per-message framing tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;

export function countTokens(text: string): number {
  return encode(text).length;
}

export interface TokenEstimate extends TokenUsage {
  costUsd: number | null;
}

/**
 * Estimates the tokens of a request before sending it, with the o200k_base
 * tokenizer (GPT-4o / GPT-5 family): instructions, customer data and the
 * answer schema, plus message framing. Output is estimated from the answer
 * fields' expected size.
 */
export function estimateRequest(request: OpenAIRequest, prices: Record<string, Price>, expectedOutputTokens = 120): TokenEstimate {
  const format = request.api === 'responses'
    ? (request.body.text as { format: { schema: unknown } }).format.schema
    : (request.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
  const inputTokens = countTokens(request.instructions) + countTokens(request.input) + countTokens(JSON.stringify(format)) + 2 * PER_MESSAGE_OVERHEAD;
  const usage = { inputTokens, cachedTokens: 0, outputTokens: expectedOutputTokens, reasoningTokens: 0 };
  return { ...usage, costUsd: costUsd(usage, priceFor(request.model, prices)) };
}
