import { afterAll, describe, expect, it } from 'vitest';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import type { OpenAIRequest } from './build-request.js';
import { countRequestsTokens, staticPartTokens } from './estimate-tokens.js';
import { releaseTokenizer } from './token-counter.js';

afterAll(() => releaseTokenizer());

/** A Responses API request with just what the estimate reads. */
function request(instructions: string, input: string, schema: unknown = { type: 'object', properties: { Comment: { type: 'string' } } }): OpenAIRequest {
  return { api: 'responses', model: 'gpt-5-mini', instructions, input, body: { text: { format: { schema } } }, answerSchema: undefined as never };
}

const tokens = (text: string) => encode(text).length;
/** Counted here independently: each text with o200k_base, plus the framing of the two messages. */
const staticOf = (r: OpenAIRequest, schema: unknown) => tokens(r.instructions) + tokens(JSON.stringify(schema)) + 2 * 4;

describe('exact input tokens of requests', () => {
  it('counts each request as its static part plus its own input, the static part counted once for all', async () => {
    const schema = { type: 'object', properties: { Comment: { type: 'string' } } };
    const a = request('Say whether the customer is known to film. (estimate test 1)', '{"Id":"C-1","FirstName":"Ada"}', schema);
    const b = request(a.instructions, '{"Id":"C-2","FirstName":"Grace","LastName":"Hopper"}', schema);
    expect(await countRequestsTokens([a, b])).toEqual([staticOf(a, schema) + tokens(a.input), staticOf(b, schema) + tokens(b.input)]);
  });

  it("a request's static part: the same whether counted now or kept from counting its requests", async () => {
    const schema = { type: 'object', properties: { KnownToFilm: { type: 'boolean' } } };
    const cold = request('Answer TRUE or FALSE. (estimate test 2)', '{}', schema);
    expect(await staticPartTokens(cold)).toBe(staticOf(cold, schema));
    const counted = request('Answer TRUE or FALSE. (estimate test 3)', '{"Id":"C-3"}', schema);
    await countRequestsTokens([counted]);
    expect(await staticPartTokens(counted)).toBe(staticOf(counted, schema));
    // Another schema is another static part, not the one kept for these instructions.
    const other = { type: 'object', properties: { Comment: { type: 'string' }, Note: { type: 'string' } } };
    expect(await staticPartTokens(request(counted.instructions, '{}', other))).toBe(staticOf(counted, other));
  });
});
