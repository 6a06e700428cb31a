import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { OpenAIRequest } from './build-request.js';
import { costUsd, priceFor, type TokenUsage } from './prices.js';
import type { Price } from '../config/schema.js';

/** Per-message framing tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;

export function countTokens(text: string): number {
  return encode(text).length;
}

const staticPartCache = new Map<string, number>();

/**
 * The same estimate, cheap enough for every queued call: the static part
 * (instructions + schema) is identical across records, so it is counted once.
 */
export function estimateRequestTokens(request: OpenAIRequest): number {
  const schema = JSON.stringify(schemaOf(request));
  const key = `${request.instructions}\u0000${schema}`;
  let fixed = staticPartCache.get(key);
  if (fixed === undefined) {
    fixed = countTokens(request.instructions) + countTokens(schema) + 2 * PER_MESSAGE_OVERHEAD;
    if (staticPartCache.size > 100) staticPartCache.clear();
    staticPartCache.set(key, fixed);
  }
  return fixed + countTokens(request.input);
}

function schemaOf(request: OpenAIRequest): unknown {
  return request.api === 'responses'
    ? (request.body.text as { format: { schema: unknown } }).format.schema
    : (request.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
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
  const inputTokens = estimateRequestTokens(request);
  const usage = { inputTokens, cachedTokens: 0, outputTokens: expectedOutputTokens, reasoningTokens: 0 };
  return { ...usage, costUsd: costUsd(usage, priceFor(request.model, prices)) };
}
