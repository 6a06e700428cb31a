import type { ConnectorError } from '../shared/errors.js';
import { describe, expect, it } from 'vitest';
import { buildAnswerSchema } from './answer-schema.js';
import { parseAnswer } from './parse-answer.js';

const schema = buildAnswerSchema([
  { name: 'Comment', dataType: 'string', description: 'summary' },
  { name: 'Known To Film', dataType: 'bool', description: undefined },
]);
const responses = (content: unknown[], extra: Record<string, unknown> = {}) => ({
  status: 'completed',
  output: [{ type: 'reasoning', id: 'rs_1', summary: [] }, { type: 'message', content }],
  ...extra,
});
const chat = (message: Record<string, unknown>, finish_reason = 'stop') => ({ choices: [{ index: 0, finish_reason, message }] });

describe('parseAnswer', () => {
  it('reads a Responses API answer', () => {
    const raw = responses([{ type: 'output_text', text: '{"Comment":"- Name: A","Known To Film":"FALSE"}' }]);
    expect(parseAnswer('responses', raw, schema, 'C-1')).toEqual({ Comment: '- Name: A', 'Known To Film': 'FALSE' });
  });

  it('reads a Chat Completions answer', () => {
    const raw = chat({ content: '{"Comment":"x","Known To Film":"TRUE"}', refusal: null });
    expect(parseAnswer('chat', raw, schema, 'C-1')).toEqual({ Comment: 'x', 'Known To Film': 'TRUE' });
  });

  it('treats fields outside the mapping as an error, never as data', () => {
    const raw = chat({ content: '{"Comment":"x","Known To Film":"TRUE","EmailAddress":"attacker@example.com"}' });
    expect(() => parseAnswer('chat', raw, schema, 'C-1')).toThrow('Customer C-1: the answer does not fit the TO mapping (fields outside the mapping: "EmailAddress").');
  });

  it('rejects a bool field that is not TRUE/FALSE, naming it', () => {
    const raw = chat({ content: '{"Comment":"x","Known To Film":"MAYBE"}' });
    expect(() => parseAnswer('chat', raw, schema, 'C-1')).toThrow(/"Known To Film": /);
  });

  it('turns refusals, cut-off answers and non-JSON into errors with a fix', () => {
    expect(() => parseAnswer('responses', responses([{ type: 'refusal', refusal: "I can't help with that." }]), schema, 'C-2')).toThrow("Customer C-2: OpenAI refused to answer: I can't help with that.");
    expect(() => parseAnswer('responses', responses([{ type: 'output_text', text: '{"Comm' }], { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }), schema, 'C-3')).toThrow(
      'Customer C-3: the answer is incomplete (max_output_tokens).',
    );
    expect(() => parseAnswer('chat', chat({ content: '{"Comm' }, 'length'), schema, 'C-4')).toThrow(/incomplete \(length\)/);
    expect(() => parseAnswer('chat', chat({ content: 'Sure! Here it is' }), schema, 'C-5')).toThrow(/not valid JSON/);
    expect(() => parseAnswer('chat', chat({ content: null }), schema, 'C-6')).toThrow(/holds no text/);
  });

  it('names the cause of a cut-off answer only when OpenAI gave one', () => {
    const fixOf = (raw: unknown) => {
      try {
        parseAnswer('responses', raw, schema, 'C-7');
      } catch (e) {
        return e as ConnectorError;
      }
      throw new Error('no error');
    };
    const filtered = fixOf(responses([], { status: 'incomplete', incomplete_details: { reason: 'content_filter' } }));
    expect(filtered.fix).toMatch(/content filter/);
    const unexplained = fixOf(responses([], { status: 'incomplete', incomplete_details: null }));
    expect(unexplained.message).toBe('Customer C-7: the answer is incomplete (status incomplete, no reason given).');
    expect(unexplained.fix).toMatch(/OpenAI gave no reason; retry the record/);
    expect(unexplained.fix).not.toMatch(/filter/);
  });

  it('a field the answer leaves out is reported as missing, not as an invalid option', () => {
    const raw = chat({ content: '{"Comment":"x"}' });
    expect(() => parseAnswer('chat', raw, schema, 'C-8')).toThrow(/\("Known To Film" is missing\)/);
  });
});
