import { describe, expect, it } from 'vitest';
import { countTokens, estimateInputTokens, estimatePrefixTokens, PromptCache } from './tokens.js';

const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };

describe('estimateInputTokens', () => {
  it('= 3 + Σ(4 + tokens(message text)) + tokens(JSON.stringify(schema)), the same for both APIs', () => {
    const s = countTokens(JSON.stringify(schema));
    const responses = {
      model: 'gpt-5-nano',
      instructions: 'Enrich the customer.',
      input: [{ role: 'user', content: [{ type: 'input_text', text: '{"FirstName":"Ada"}' }] }],
      text: { format: { type: 'json_schema', name: 'x', schema, strict: true } },
    };
    const expected = 3 + (4 + countTokens('Enrich the customer.')) + (4 + countTokens('{"FirstName":"Ada"}')) + s;
    expect(estimateInputTokens(responses)).toBe(expected);
    expect(estimateInputTokens({ ...responses, input: '{"FirstName":"Ada"}' })).toBe(expected);
    const chat = {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Enrich the customer.' },
        { role: 'user', content: '{"FirstName":"Ada"}' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } },
    };
    expect(estimateInputTokens(chat)).toBe(expected);
    expect(estimatePrefixTokens(chat)).toBe(4 + countTokens('Enrich the customer.') + s);
    expect(estimateInputTokens({})).toBe(3);
  });

  it('does not throw on special-token text', () => {
    expect(countTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });
});

describe('PromptCache', () => {
  it('hits a >=1024-token prefix seen within 10 minutes, in 128-token steps', () => {
    let t = 0;
    const cache = new PromptCache(() => t);
    expect(cache.lookup('k', 1500, 1600)).toBe(0);
    expect(cache.lookup('k', 1500, 1600)).toBe(1408);
    expect(cache.lookup('small', 1000, 1100)).toBe(0);
    expect(cache.lookup('small', 1000, 1100)).toBe(0);
    t = 11 * 60_000;
    expect(cache.lookup('k', 1500, 1600)).toBe(0);
  });
});
