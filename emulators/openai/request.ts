/**
 * Validates /v1/responses and /v1/chat/completions bodies the way OpenAI does (400/404 with the real
 * messages) and normalizes both into one CompletionRequest.
 */
import { errors } from './errors.js';
import { validateStrictSchema } from './strict-schema.js';
import { extractMessages } from './tokens.js';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface JsonSchemaFormat {
  type: 'json_schema';
  name: string;
  schema: Json;
  strict: boolean;
  description?: string;
}
export type OutputFormat = { type: 'text' } | { type: 'json_object' } | JsonSchemaFormat;

export interface CompletionRequest {
  api: 'responses' | 'chat';
  model: string;
  /** gpt-5* (except *-chat*), o1/o3/o4*. */
  reasoningModel: boolean;
  /** Effective effort for reasoning models (default 'medium'), null otherwise. */
  reasoningEffort: string | null;
  format: OutputFormat;
  /** max_output_tokens / max_completion_tokens / max_tokens, or null. */
  maxOutputTokens: number | null;
  /** The user messages' text, joined with "\n": where the customer data is. */
  userText: string;
  /** The requested service_tier (validated against the spec's enum), or null when absent / null. */
  serviceTier: string | null;
  body: Json;
}

/** The spec's ServiceTierResponses / ServiceTier enums (openai-openapi, request side). */
export const RESPONSES_SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority', 'fast', 'ultrafast'];
export const CHAT_SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority', 'fast'];

function checkServiceTier(body: Json, allowed: string[]): string | null {
  const v = body.service_tier;
  if (!present(v)) return null;
  if (typeof v !== 'string') throw errors.invalidType('service_tier', 'a string', v);
  if (!allowed.includes(v)) throw errors.invalidValue('service_tier', v, allowed);
  return v;
}

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'];

export function isReasoningModel(model: string): boolean {
  return (/^gpt-5/.test(model) && !model.includes('-chat')) || /^o\d/.test(model);
}

const RESPONSES_PARAMS = new Set([
  'metadata', 'top_logprobs', 'temperature', 'top_p', 'user', 'safety_identifier', 'prompt_cache_key',
  'prompt_cache_retention', 'prompt_cache_options', 'previous_response_id', 'model', 'background', 'max_tool_calls',
  'text', 'tools', 'tool_choice', 'prompt', 'service_tier', 'truncation', 'reasoning', 'input', 'include',
  'parallel_tool_calls', 'store', 'instructions', 'moderation', 'stream', 'stream_options', 'conversation',
  'context_management', 'max_output_tokens',
]);

const CHAT_PARAMS = new Set([
  'metadata', 'top_logprobs', 'temperature', 'top_p', 'user', 'safety_identifier', 'prompt_cache_key',
  'prompt_cache_retention', 'prompt_cache_options', 'messages', 'model', 'service_tier', 'modalities', 'verbosity',
  'reasoning_effort', 'max_completion_tokens', 'frequency_penalty', 'presence_penalty', 'web_search_options',
  'response_format', 'audio', 'store', 'moderation', 'stream', 'stop', 'logit_bias', 'logprobs', 'max_tokens', 'n',
  'prediction', 'seed', 'stream_options', 'tools', 'tool_choice', 'parallel_tool_calls', 'function_call', 'functions',
]);

const present = (v: unknown): boolean => v !== undefined && v !== null;

function checkModel(body: Json, models: readonly string[]): string {
  if (!present(body.model)) throw errors.missingParameter('model');
  if (typeof body.model !== 'string') throw errors.invalidType('model', 'a string', body.model);
  if (!models.includes(body.model)) throw errors.modelNotFound(body.model);
  return body.model;
}

function checkNumber(body: Json, param: string, min: number, max: number): void {
  const v = body[param];
  if (!present(v)) return;
  if (typeof v !== 'number') throw errors.invalidType(param, 'a decimal', v);
  if (v < min) throw errors.belowMinimum(param, min, v, false);
  if (v > max) throw errors.aboveMaximum(param, max, v, false);
}

function checkSampling(body: Json, reasoningModel: boolean): void {
  checkNumber(body, 'temperature', 0, 2);
  checkNumber(body, 'top_p', 0, 1);
  if (reasoningModel) {
    for (const p of ['temperature', 'top_p']) if (present(body[p])) throw errors.unsupportedParameter(p);
  }
}

function checkEffort(effort: unknown, param: string, reasoningModel: boolean): string | null {
  if (!present(effort)) return reasoningModel ? 'medium' : null;
  if (!reasoningModel) throw errors.unsupportedParameter(param);
  if (typeof effort !== 'string' || !REASONING_EFFORTS.includes(effort)) throw errors.invalidValue(param, effort, REASONING_EFFORTS);
  return effort;
}

function checkMaxTokens(body: Json, param: string, min: number): number | null {
  const v = body[param];
  if (!present(v)) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw errors.invalidType(param, 'an integer', v);
  if (v < min) throw errors.belowMinimum(param, min, v, true);
  return v;
}

/** Validates a json_schema format; `prefix` is 'text.format' or 'response_format.json_schema'. */
function checkJsonSchemaFormat(
  spec: Json,
  prefix: string,
  schemaParam: string,
): JsonSchemaFormat {
  const name = spec.name;
  if (!present(name)) throw errors.missingParameter(`${prefix}.name`);
  if (typeof name !== 'string') throw errors.invalidType(`${prefix}.name`, 'a string', name);
  if (name.length > 64) throw errors.nameTooLong(`${prefix}.name`, name.length);
  if (!/^[a-zA-Z0-9_-]+$/.test(name)) throw errors.namePattern(`${prefix}.name`);
  const strict = spec.strict === true;
  let schema = spec.schema;
  if (!present(schema)) {
    if (prefix === 'text.format' || strict) throw errors.missingParameter(`${prefix}.schema`);
    schema = {};
  }
  if (!isRecord(schema)) throw errors.invalidType(`${prefix}.schema`, 'an object', schema);
  if (strict) {
    const violation = validateStrictSchema(schema);
    if (violation) throw errors.invalidSchema(name, violation, schemaParam);
  }
  const format: JsonSchemaFormat = { type: 'json_schema', name, schema, strict };
  if (typeof spec.description === 'string') format.description = spec.description;
  return format;
}

function checkFormatType(type: unknown, param: string): 'text' | 'json_object' | 'json_schema' {
  if (type === 'text' || type === 'json_object' || type === 'json_schema') return type;
  if (!present(type)) throw errors.missingParameter(param);
  throw errors.invalidValue(param, type, ['text', 'json_object', 'json_schema']);
}

function userText(body: Json): string {
  return extractMessages(body)
    .filter((m) => m.role === 'user')
    .map((m) => m.parts.join(''))
    .join('\n');
}

function requireObject(body: unknown): Json {
  if (!isRecord(body)) throw errors.invalidJsonBody();
  return body;
}

export function parseResponsesRequest(raw: unknown, models: readonly string[]): CompletionRequest {
  const body = requireObject(raw);
  for (const k of Object.keys(body)) if (!RESPONSES_PARAMS.has(k)) throw errors.unknownParameter(k);
  const model = checkModel(body, models);
  if (!present(body.input)) throw errors.missingParameter('input');
  if (typeof body.input !== 'string' && !Array.isArray(body.input)) {
    throw errors.invalidType('input', 'one of a string or array of input items', body.input);
  }
  if (present(body.instructions) && typeof body.instructions !== 'string') {
    throw errors.invalidType('instructions', 'a string', body.instructions);
  }
  const reasoningModel = isReasoningModel(model);
  checkSampling(body, reasoningModel);
  const reasoning = body.reasoning;
  if (present(reasoning) && !isRecord(reasoning)) throw errors.invalidType('reasoning', 'an object', reasoning);
  const reasoningEffort = checkEffort(isRecord(reasoning) ? reasoning.effort : undefined, 'reasoning.effort', reasoningModel);
  const maxOutputTokens = checkMaxTokens(body, 'max_output_tokens', 16);

  let format: OutputFormat = { type: 'text' };
  const text = body.text;
  if (present(text)) {
    if (!isRecord(text)) throw errors.invalidType('text', 'an object', text);
    if (present(text.format)) {
      if (!isRecord(text.format)) throw errors.invalidType('text.format', 'an object', text.format);
      const type = checkFormatType(text.format.type, 'text.format.type');
      format = type === 'json_schema' ? checkJsonSchemaFormat(text.format, 'text.format', 'text.format.schema') : { type };
    }
  }
  if (body.stream === true) throw errors.streamingUnsupported();
  const serviceTier = checkServiceTier(body, RESPONSES_SERVICE_TIERS);
  return { api: 'responses', model, reasoningModel, reasoningEffort, format, maxOutputTokens, userText: userText(body), serviceTier, body };
}

export function parseChatRequest(raw: unknown, models: readonly string[]): CompletionRequest {
  const body = requireObject(raw);
  for (const k of Object.keys(body)) if (!CHAT_PARAMS.has(k)) throw errors.unrecognizedArgument(k);
  const model = checkModel(body, models);
  if (!present(body.messages)) throw errors.missingParameter('messages');
  if (!Array.isArray(body.messages)) throw errors.invalidType('messages', 'an array', body.messages);
  if (body.messages.length === 0) throw errors.emptyArray('messages');
  body.messages.forEach((m, i) => {
    if (!isRecord(m)) throw errors.invalidType(`messages[${i}]`, 'an object', m);
    if (!present(m.role)) throw errors.missingParameter(`messages[${i}].role`);
  });
  const reasoningModel = isReasoningModel(model);
  checkSampling(body, reasoningModel);
  const reasoningEffort = checkEffort(body.reasoning_effort, 'reasoning_effort', reasoningModel);
  if (reasoningModel && present(body.max_tokens)) {
    throw errors.unsupportedParameter('max_tokens', " Use 'max_completion_tokens' instead.");
  }
  const maxOutputTokens = checkMaxTokens(body, 'max_completion_tokens', 1) ?? checkMaxTokens(body, 'max_tokens', 1);

  let format: OutputFormat = { type: 'text' };
  const rf = body.response_format;
  if (present(rf)) {
    if (!isRecord(rf)) throw errors.invalidType('response_format', 'an object', rf);
    const type = checkFormatType(rf.type, 'response_format.type');
    if (type === 'json_schema') {
      if (!isRecord(rf.json_schema)) throw errors.missingParameter('response_format.json_schema');
      format = checkJsonSchemaFormat(rf.json_schema, 'response_format.json_schema', 'response_format');
    } else format = { type };
  }
  if (body.stream === true) throw errors.streamingUnsupported();
  const serviceTier = checkServiceTier(body, CHAT_SERVICE_TIERS);
  return { api: 'chat', model, reasoningModel, reasoningEffort, format, maxOutputTokens, userText: userText(body), serviceTier, body };
}

