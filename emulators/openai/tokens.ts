/**
 * Token accounting with gpt-tokenizer's o200k_base encoding (the one gpt-4o, gpt-4.1 and gpt-5 use).
 *
 * Input-token formula (estimateInputTokens), for both /v1/responses and /v1/chat/completions bodies:
 *
 *   input_tokens = 3                                         (reply priming)
 *                + Σ over messages (4 + Σ over text parts tokens(text))
 *                + tokens(JSON.stringify(schema))             (only with a json_schema format)
 *
 * Messages are: responses `instructions` (one message, when a non-empty string) followed by each item
 * of `input` (a string `input` is one user message); chat: each item of `messages`. A message's text
 * parts are its `content` when it is a string, else the `text` of each content part (input_text,
 * output_text, text). Non-text parts count 0.
 *
 * The cacheable prefix (prefixTokens) is the system part of the prompt: the instructions plus every
 * system/developer message (each with its 4-token overhead) plus the schema tokens.
 */
import { createHash } from 'node:crypto';
import { encode, decode } from 'gpt-tokenizer/encoding/o200k_base';

export const MESSAGE_OVERHEAD_TOKENS = 4;
export const REPLY_PRIMING_TOKENS = 3;
export const CACHE_MIN_PREFIX_TOKENS = 1024;
export const CACHE_INCREMENT_TOKENS = 128;
export const CACHE_TTL_MS = 10 * 60_000;

const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export function tokenize(text: string): number[] {
  return encode(text, ENCODE_OPTIONS);
}

export function countTokens(text: string): number {
  return text.length === 0 ? 0 : tokenize(text).length;
}

/** The first `n` tokens of `text`, decoded. */
export function truncateToTokens(text: string, n: number): string {
  if (n <= 0) return '';
  const ids = tokenize(text);
  return ids.length <= n ? text : decode(ids.slice(0, n));
}

export interface PromptMessage {
  role: string;
  /** Text parts in order. */
  parts: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function contentParts(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  const parts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') parts.push(part);
    else if (isRecord(part) && typeof part.text === 'string') parts.push(part.text);
  }
  return parts;
}

/** Messages of a responses or chat body (lenient: never throws). */
export function extractMessages(body: unknown): PromptMessage[] {
  if (!isRecord(body)) return [];
  const messages: PromptMessage[] = [];
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      if (isRecord(m)) messages.push({ role: typeof m.role === 'string' ? m.role : 'user', parts: contentParts(m.content) });
    }
    return messages;
  }
  if (typeof body.instructions === 'string' && body.instructions.length > 0) {
    messages.push({ role: 'developer', parts: [body.instructions] });
  }
  if (typeof body.input === 'string') {
    messages.push({ role: 'user', parts: [body.input] });
  } else if (Array.isArray(body.input)) {
    for (const item of body.input) {
      if (typeof item === 'string') messages.push({ role: 'user', parts: [item] });
      else if (isRecord(item)) {
        const role = typeof item.role === 'string' ? item.role : 'user';
        const parts = 'content' in item ? contentParts(item.content) : typeof item.output === 'string' ? [item.output] : [];
        messages.push({ role, parts });
      }
    }
  }
  return messages;
}

/** The json_schema `schema` of a responses (`text.format`) or chat (`response_format`) body, if any. */
export function extractSchema(body: unknown): unknown {
  if (!isRecord(body)) return undefined;
  const text = body.text;
  if (isRecord(text) && isRecord(text.format) && text.format.type === 'json_schema') return text.format.schema;
  const rf = body.response_format;
  if (isRecord(rf) && rf.type === 'json_schema' && isRecord(rf.json_schema)) return rf.json_schema.schema;
  return undefined;
}

const isSystemRole = (role: string): boolean => role === 'system' || role === 'developer';

function messageTokens(m: PromptMessage): number {
  return MESSAGE_OVERHEAD_TOKENS + m.parts.reduce((n, p) => n + countTokens(p), 0);
}

function schemaTokens(body: unknown): number {
  const schema = extractSchema(body);
  return schema === undefined ? 0 : countTokens(JSON.stringify(schema));
}

/** The emulator's input_tokens for a request body (see the formula at the top of this file). */
export function estimateInputTokens(body: unknown): number {
  return REPLY_PRIMING_TOKENS + extractMessages(body).reduce((n, m) => n + messageTokens(m), 0) + schemaTokens(body);
}

/** Tokens of the cacheable prefix: system/developer messages (instructions) + schema. */
export function estimatePrefixTokens(body: unknown): number {
  return (
    extractMessages(body)
      .filter((m) => isSystemRole(m.role))
      .reduce((n, m) => n + messageTokens(m), 0) + schemaTokens(body)
  );
}

/** Text of the cacheable prefix, used as the cache key together with the model. */
export function prefixKey(model: string, body: unknown): string {
  const system = extractMessages(body)
    .filter((m) => isSystemRole(m.role))
    .map((m) => m.parts.join(''));
  const schema = extractSchema(body);
  return createHash('sha256')
    .update(JSON.stringify([model, system, schema ?? null]))
    .digest('hex');
}

/**
 * OpenAI-style automatic prompt caching: a prefix of >= 1024 tokens seen before (same model) within
 * 10 minutes gives cached_tokens = floor(prefixTokens / 128) * 128, capped at input_tokens.
 */
export class PromptCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  lookup(key: string, prefixTokens: number, inputTokens: number): number {
    const t = this.now();
    for (const [k, at] of this.seen) if (t - at > CACHE_TTL_MS) this.seen.delete(k);
    if (prefixTokens < CACHE_MIN_PREFIX_TOKENS) return 0;
    const hit = this.seen.has(key);
    this.seen.set(key, t);
    return hit ? Math.min(inputTokens, Math.floor(prefixTokens / CACHE_INCREMENT_TOKENS) * CACHE_INCREMENT_TOKENS) : 0;
  }

  clear(): void {
    this.seen.clear();
  }
}
