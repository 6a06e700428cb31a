/**
 * Spec-valid bodies (openai-openapi: Response, CreateChatCompletionResponse, Model) built from a
 * request and its Completion. output_text is not sent: the SDK computes it.
 */
import { randomBytes } from 'node:crypto';
import type { Completion } from './completion.js';
import type { CompletionRequest } from './request.js';
import type { ServedTier } from './service-tier.js';

type Json = Record<string, unknown>;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const now = (): number => Math.floor(Date.now() / 1000);

export const newRequestId = (): string => `req_${hex(16)}`;

/** Fixed creation dates of the default models (unknown ones get 1700000000). */
const MODEL_CREATED: Record<string, number> = {
  'gpt-5-nano': 1754426384,
  'gpt-5-mini': 1754425928,
  'gpt-4o-mini': 1721172741,
  'gpt-4.1-mini': 1744318173,
};

export function modelObject(id: string): Json {
  return { id, object: 'model', created: MODEL_CREATED[id] ?? 1700000000, owned_by: 'system' };
}

export function modelList(ids: readonly string[]): Json {
  return { object: 'list', data: ids.map(modelObject) };
}

function echoFormat(req: CompletionRequest): Json {
  const f = req.format;
  if (f.type !== 'json_schema') return { type: f.type };
  const out: Json = { type: 'json_schema', name: f.name, schema: f.schema, strict: f.strict };
  if (f.description !== undefined) out.description = f.description;
  return out;
}

const nullable = (v: unknown): unknown => (v === undefined ? null : v);

export function responseObject(req: CompletionRequest, c: Completion, tier: ServedTier = 'default'): Json {
  const b = req.body;
  const output: Json[] = [];
  if (req.reasoningModel) output.push({ type: 'reasoning', id: `rs_${hex(24)}`, summary: [] });
  if (c.hasMessage) {
    output.push({
      type: 'message',
      id: `msg_${hex(24)}`,
      status: c.incomplete ? 'incomplete' : 'completed',
      role: 'assistant',
      content: c.refused
        ? [{ type: 'refusal', refusal: c.text }]
        : [{ type: 'output_text', text: c.text, annotations: [], logprobs: [] }],
    });
  }
  const created = now();
  const reasoning = b.reasoning as Json | undefined;
  return {
    id: `resp_${hex(24)}`,
    object: 'response',
    created_at: created,
    status: c.incomplete ? 'incomplete' : 'completed',
    background: false,
    completed_at: c.incomplete ? null : created,
    error: null,
    incomplete_details: c.incomplete ? { reason: 'max_output_tokens' } : null,
    instructions: nullable(b.instructions),
    max_output_tokens: nullable(b.max_output_tokens),
    max_tool_calls: null,
    model: req.model,
    output,
    parallel_tool_calls: typeof b.parallel_tool_calls === 'boolean' ? b.parallel_tool_calls : true,
    previous_response_id: null,
    prompt_cache_key: nullable(b.prompt_cache_key),
    reasoning: {
      effort: req.reasoningEffort,
      summary: reasoning && typeof reasoning.summary === 'string' ? reasoning.summary : null,
    },
    safety_identifier: nullable(b.safety_identifier),
    service_tier: tier,
    store: typeof b.store === 'boolean' ? b.store : true,
    temperature: typeof b.temperature === 'number' ? b.temperature : 1,
    text: { format: echoFormat(req), verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_logprobs: 0,
    top_p: typeof b.top_p === 'number' ? b.top_p : 1,
    truncation: 'disabled',
    usage: {
      input_tokens: c.inputTokens,
      input_tokens_details: { cached_tokens: c.cachedTokens, cache_write_tokens: 0 },
      output_tokens: c.outputTokens,
      output_tokens_details: { reasoning_tokens: c.reasoningTokens },
      total_tokens: c.inputTokens + c.outputTokens,
    },
    metadata: b.metadata && typeof b.metadata === 'object' ? b.metadata : {},
  };
}

export function chatCompletionObject(req: CompletionRequest, c: Completion, tier: ServedTier = 'default'): Json {
  return {
    id: `chatcmpl-${randomBytes(21).toString('base64url').slice(0, 29)}`,
    object: 'chat.completion',
    created: now(),
    model: req.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: c.refused ? null : c.text,
          refusal: c.refused ? c.text : null,
          annotations: [],
        },
        logprobs: null,
        finish_reason: c.incomplete ? 'length' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: c.inputTokens,
      completion_tokens: c.outputTokens,
      total_tokens: c.inputTokens + c.outputTokens,
      prompt_tokens_details: { cached_tokens: c.cachedTokens, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: c.reasoningTokens,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    },
    service_tier: tier,
    system_fingerprint: `fp_${hex(5)}`,
  };
}

/** A 200 body that is not JSON (the 'malformed' fault): a response cut off mid-stream. */
export function malformedBody(req: CompletionRequest): string {
  const head = req.api === 'responses' ? `{"id":"resp_${hex(24)}","object":"response","status":"compl` : `{"id":"chatcmpl-${hex(8)}","object":"chat.completion","choices":[{"index":0,"mess`;
  return head;
}
