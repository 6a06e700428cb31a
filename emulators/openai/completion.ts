/**
 * What the emulated model "generates" for a validated request: the answer text (schema-driven JSON,
 * or a plain summary), refusal / truncation, and the token usage.
 */
import { addExtraFields, applyWrongType, generateAnswer, generateTextAnswer } from './answer.js';
import type { CompletionRequest } from './request.js';
import type { PromptCache } from './tokens.js';
import { countTokens, estimateInputTokens, estimatePrefixTokens, prefixKey, tokenize, truncateToTokens } from './tokens.js';

/** Reasoning tokens per effort (64 per level; 0 for none/minimal). Non-reasoning models: 0. */
export const REASONING_TOKENS: Record<string, number> = { none: 0, minimal: 0, low: 64, medium: 128, high: 192, xhigh: 256 };

export const REFUSAL_TEXT = "I'm sorry, but I can't assist with that request.";

export type AnswerFault = 'refusal' | 'extra-fields' | 'wrong-type' | 'incomplete' | null;

export interface Completion {
  /** The visible text (possibly truncated); the refusal text when refused. */
  text: string;
  refused: boolean;
  /** Stopped by max output tokens (or the 'incomplete' fault). */
  incomplete: boolean;
  /** False when reasoning used the whole output budget: no message is produced. */
  hasMessage: boolean;
  inputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Visible + reasoning tokens. */
  outputTokens: number;
}

/** The instructions: the Responses `instructions`, or the system/developer messages of a chat. */
function instructionsOf(body: Record<string, unknown>): string {
  if (typeof body.instructions === 'string') return body.instructions;
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  return messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
}

function answerText(req: CompletionRequest, fault: AnswerFault): string {
  const format = req.format;
  if (format.type === 'json_schema') {
    let answer = generateAnswer(format.schema, req.userText, instructionsOf(req.body));
    if (fault === 'extra-fields') answer = addExtraFields(answer);
    if (fault === 'wrong-type') answer = applyWrongType(answer, format.schema);
    return JSON.stringify(answer);
  }
  if (format.type === 'json_object') return JSON.stringify({ summary: generateTextAnswer(req.userText) });
  return generateTextAnswer(req.userText);
}

export function complete(req: CompletionRequest, fault: AnswerFault, cache: PromptCache): Completion {
  const inputTokens = estimateInputTokens(req.body);
  const cachedTokens = cache.lookup(prefixKey(req.model, req.body), estimatePrefixTokens(req.body), inputTokens);
  const refused = fault === 'refusal';
  let text = refused ? REFUSAL_TEXT : answerText(req, fault);
  let reasoningTokens = req.reasoningModel ? (REASONING_TOKENS[req.reasoningEffort ?? 'medium'] ?? 128) : 0;
  let visibleTokens = countTokens(text);
  let incomplete = false;
  let hasMessage = true;

  const max = req.maxOutputTokens;
  if (max !== null && reasoningTokens + visibleTokens > max) {
    incomplete = true;
    if (reasoningTokens >= max) {
      reasoningTokens = max;
      visibleTokens = 0;
      text = '';
      hasMessage = false;
    } else {
      visibleTokens = max - reasoningTokens;
      text = truncateToTokens(text, visibleTokens);
    }
  } else if (fault === 'incomplete') {
    incomplete = true;
    visibleTokens = Math.floor(tokenize(text).length / 2);
    text = truncateToTokens(text, visibleTokens);
  }
  return {
    text,
    refused,
    incomplete,
    hasMessage,
    inputTokens,
    cachedTokens,
    reasoningTokens,
    outputTokens: reasoningTokens + visibleTokens,
  };
}
