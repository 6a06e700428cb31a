import type { Price } from '../config/schema.js';
import type { OpenAIRequest } from './build-request.js';
import { costUsd, priceFor, type TokenUsage } from './prices.js';

/** Per-message framing tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;

type Encoder = (text: string) => number;
let encoder: Encoder | undefined;

/**
 * The o200k_base tokenizer (GPT-4o / GPT-5 family) costs ~65 MB of memory, so
 * it is loaded only by what needs exact counts (preview, bulk estimates), never
 * by the service's hot path.
 */
export async function loadTokenizer(): Promise<Encoder> {
  if (!encoder) {
    const { encode } = await import('gpt-tokenizer/encoding/o200k_base');
    encoder = (text) => encode(text).length;
  }
  return encoder;
}

function schemaOf(request: OpenAIRequest): unknown {
  return request.api === 'responses'
    ? (request.body.text as { format: { schema: unknown } }).format.schema
    : (request.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
}

const staticPartCache = new Map<string, number>();

/** Exact input tokens of a request (instructions, customer data, answer schema, framing). */
export async function countRequestTokens(request: OpenAIRequest): Promise<number> {
  const count = await loadTokenizer();
  const schema = JSON.stringify(schemaOf(request));
  // The static part is identical across records: count it once.
  const key = `${request.instructions}\u0000${schema}`;
  let fixed = staticPartCache.get(key);
  if (fixed === undefined) {
    fixed = count(request.instructions) + count(schema) + 2 * PER_MESSAGE_OVERHEAD;
    if (staticPartCache.size > 100) staticPartCache.clear();
    staticPartCache.set(key, fixed);
  }
  return fixed + count(request.input);
}

/**
 * A cheap upper-leaning guess for pacing (about 3.5 bytes a token for
 * English-like JSON); the rate limiter corrects it with the real usage.
 */
export function roughRequestTokens(request: OpenAIRequest): number {
  const bytes = Buffer.byteLength(request.instructions) + Buffer.byteLength(request.input) + Buffer.byteLength(JSON.stringify(schemaOf(request)));
  return Math.ceil(bytes / 3.5) + 2 * PER_MESSAGE_OVERHEAD;
}

export interface TokenEstimate extends TokenUsage {
  costUsd: number | null;
}

/** The estimate `preview` prints: exact input tokens, output from the answer fields' expected size. */
export async function estimateRequest(request: OpenAIRequest, prices: Record<string, Price>, expectedOutputTokens = 120): Promise<TokenEstimate> {
  const usage = { inputTokens: await countRequestTokens(request), cachedTokens: 0, outputTokens: expectedOutputTokens, reasoningTokens: 0 };
  return { ...usage, costUsd: costUsd(usage, priceFor(request.model, prices)) };
}
