import { describe, expect, it } from 'vitest';
import { createRedactor, redactDeep } from './redact.js';

describe('redactor', () => {
  it('removes configured secrets, OpenAI key echoes and bearer tokens', () => {
    const r = createRedactor(['sk-live-abcdef123456', undefined, 'x']);
    expect(r('key sk-live-abcdef123456 used')).toBe('key [REDACTED] used');
    expect(r('Incorrect API key provided: sk-wro***1234. You can find')).toBe('Incorrect API key provided: [REDACTED] You can find');
    expect(r('Authorization: Bearer abcdefghijkl')).toBe('Authorization: Bearer [REDACTED]');
    expect(redactDeep({ a: ['sk-live-abcdef123456'], n: 1 }, r)).toEqual({ a: ['[REDACTED]'], n: 1 });
  });
});
