import type { z } from 'zod';
import { ConnectorError } from '../shared/errors.js';
import type { ApiStyle } from './build-request.js';

type Raw = Record<string, unknown>;

export interface ExtractedText {
  text: string | null;
  refusal: string | null;
  /** Why the answer is cut short, if it is. */
  incomplete: string | null;
}

/** Pulls the answer text out of a Responses or Chat Completions body. */
export function extractText(api: ApiStyle, raw: unknown): ExtractedText {
  const r = (raw ?? {}) as Raw;
  if (api === 'chat') {
    const choice = ((r.choices as Raw[] | undefined) ?? [])[0] ?? {};
    const message = (choice.message ?? {}) as Raw;
    const finish = choice.finish_reason as string | undefined;
    return {
      text: typeof message.content === 'string' ? message.content : null,
      refusal: typeof message.refusal === 'string' ? message.refusal : null,
      incomplete: finish === 'length' || finish === 'content_filter' ? finish : null,
    };
  }
  let text: string | null = null;
  let refusal: string | null = null;
  for (const item of (r.output as Raw[] | undefined) ?? []) {
    if (item.type !== 'message') continue;
    for (const c of (item.content as Raw[] | undefined) ?? []) {
      if (c.type === 'output_text' && typeof c.text === 'string') text = (text ?? '') + c.text;
      if (c.type === 'refusal' && typeof c.refusal === 'string') refusal = c.refusal;
    }
  }
  const status = r.status as string | undefined;
  const reason = (r.incomplete_details as Raw | null | undefined)?.reason as string | undefined;
  return { text, refusal, incomplete: status && status !== 'completed' ? (reason ?? `status ${status}, no reason given`) : null };
}

/**
 * Parses and validates the model's answer against the answer schema. A
 * refusal, a cut-off answer or a schema violation is an error, never data.
 */
export function parseAnswer<T extends z.ZodType>(api: ApiStyle, raw: unknown, schema: T, customerNumber: string): z.infer<T> {
  const { text, refusal, incomplete } = extractText(api, raw);
  const fail = (message: string, fix: string, details: Record<string, unknown> = {}) =>
    new ConnectorError('INVALID_ANSWER', `Customer ${customerNumber}: ${message}`, { fix, details: { customerNumber, ...details } });
  if (refusal) throw fail(`OpenAI refused to answer: ${refusal}`, 'Review the PromptText and the customer data; a refusal is not retried automatically.');
  if (incomplete) {
    throw fail(`the answer is incomplete (${incomplete}).`, incompleteFix(incomplete));
  }
  if (!text) throw fail('the answer holds no text.', 'Check that the model supports structured outputs (json_schema); then retry the record.');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw fail(`the answer is not valid JSON: ${text.slice(0, 200)}`, 'Use a model that supports structured outputs (json_schema, strict), then retry the record.');
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => {
      const field = i.path.length ? `"${i.path.join('.')}"` : 'the answer';
      const keys = (i as { keys?: string[] }).keys;
      if (i.code === 'unrecognized_keys' && keys) return `fields outside the mapping: ${keys.map((k) => `"${k}"`).join(', ')}`;
      // A field the answer leaves out is missing, whatever type it should have had ("Invalid option" says nothing).
      if (i.path.length && valueAt(json, i.path) === undefined) return `${field} is missing`;
      return `${field}: ${i.message}`;
    });
    throw fail(`the answer does not fit the TO mapping (${issues.join('; ')}).`, 'Only the declared target fields can be written; use a model that honours strict structured outputs, then retry the record.', {
      fields: result.error.issues.map((i) => i.path.join('.')),
    });
  }
  return result.data;
}

/** Why the answer stopped, turned into what to do: only a reason OpenAI gave is named as the cause. */
function incompleteFix(incomplete: string): string {
  if (incomplete.includes('max_output_tokens') || incomplete === 'length') {
    return 'Raise openai.maxOutputTokens (reasoning models spend output tokens on reasoning too), then retry the record.';
  }
  if (incomplete.includes('content_filter')) return "OpenAI's content filter stopped the answer; review the PromptText and the customer data, then retry the record.";
  return 'OpenAI gave no reason; retry the record, and if it recurs, read the response with `ipaas-openai logs --attempt <id>`.';
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v = doc;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
