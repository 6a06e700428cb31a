import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { countTokens, releaseTokenizer } from './token-counter.js';

afterAll(() => releaseTokenizer());

describe('countTokens (o200k_base in its own thread)', () => {
  it('counts exactly, in order, and treats special-token text as text', async () => {
    const [hello, empty, special, long] = await countTokens(['hello world', '', 'say <|endoftext|> now', 'word '.repeat(1000)]);
    expect(hello).toBe(2);
    expect(empty).toBe(0);
    expect(special).toBeGreaterThan(3); // counted as plain text, not refused
    expect(long).toBe(1001); // "word", 999 × " word", and the trailing space
  });

  it('answers concurrent callers each with their own counts', async () => {
    const texts = Array.from({ length: 20 }, (_, i) => 'a b '.repeat(i + 1).trim());
    const results = await Promise.all(texts.map((t) => countTokens([t])));
    expect(results.map((r) => r[0])).toEqual(texts.map((_, i) => 2 * (i + 1))); // "a", " b", " a", " b", …
  });

  it('keeps the tokenizer out of the calling thread, and starts again after it was released', async () => {
    await countTokens(['warm']);
    const loadedHere = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('gpt-tokenizer'));
    expect(loadedHere).toEqual([]);
    await releaseTokenizer();
    expect(await countTokens(['hello world'])).toEqual([2]);
  });
});
