import type { Price } from '../config/schema.js';
import type { OpenAIRequest } from './build-request.js';
import { costUsd, priceFor, type TokenUsage } from './prices.js';
import { countTokens } from './token-counter.js';

/** Per-message framing tokens OpenAI adds around each message (role, separators). */
const PER_MESSAGE_OVERHEAD = 4;

function schemaOf(request: OpenAIRequest): unknown {
  return request.api === 'responses'
    ? (request.body.text as { format: { schema: unknown } }).format.schema
    : (request.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
}

const staticPartCache = new Map<string, number>();

/** Keeps the static part's tokens (its instructions, its schema, their two messages' framing) and returns them. */
function rememberStatic(key: string, instructionsTokens: number, schemaTokens: number): number {
  const n = instructionsTokens + schemaTokens + 2 * PER_MESSAGE_OVERHEAD;
  if (staticPartCache.size > 100) staticPartCache.clear();
  staticPartCache.set(key, n);
  return n;
}

/** A request's static part (instructions and answer schema) and its key in the cache. */
function staticPart(request: OpenAIRequest): { key: string; instructions: string; schema: string } {
  const schema = JSON.stringify(schemaOf(request));
  return { key: `${request.instructions}\u0000${schema}`, instructions: request.instructions, schema };
}

/**
 * Exact input tokens of requests (instructions, customer data, answer schema, framing), counted with
 * o200k_base in the tokenizer's own thread (token-counter.ts), all in one exchange.
 */
export async function countRequestsTokens(requests: OpenAIRequest[]): Promise<number[]> {
  // The static part is identical across records: counted once.
  const parts = requests.map(staticPart);
  const fresh = new Map<string, { instructions: string; schema: string }>();
  for (const p of parts) if (!staticPartCache.has(p.key)) fresh.set(p.key, p);
  const texts = [...[...fresh.values()].flatMap((p) => [p.instructions, p.schema]), ...requests.map((r) => r.input)];
  const counts = await countTokens(texts);
  const statics = new Map(parts.map((p) => [p.key, staticPartCache.get(p.key) ?? 0]));
  [...fresh.keys()].forEach((k, i) => statics.set(k, rememberStatic(k, counts[2 * i]!, counts[2 * i + 1]!)));
  const inputs = counts.slice(2 * fresh.size);
  return parts.map((p, i) => statics.get(p.key)! + inputs[i]!);
}

/** Exact input tokens of one request. */
export async function countRequestTokens(request: OpenAIRequest): Promise<number> {
  return (await countRequestsTokens([request]))[0]!;
}

/** The tokens of a request's static part (instructions, answer schema, framing): what the prompt cache can hold. */
export async function staticPartTokens(request: OpenAIRequest): Promise<number> {
  const { key, instructions, schema } = staticPart(request);
  // Counted already when its requests were (countRequestsTokens): not sent to the tokenizer again.
  const known = staticPartCache.get(key);
  if (known !== undefined) return known;
  const [i, s] = await countTokens([instructions, schema]);
  return rememberStatic(key, i!, s!);
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
