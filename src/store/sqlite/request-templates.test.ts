import { describe, expect, it } from 'vitest';
import { expandTemplates, TemplateCompactor } from './request-templates.js';

describe('request templates', () => {
  it('stores instructions and schema once and restores the exact documents', () => {
    const format = { type: 'json_schema', name: 'x', strict: true, schema: { type: 'object' } };
    const request = { model: 'm', instructions: 'Do it.', input: [{ role: 'user', content: '{"Id":"C-1"}' }], text: { format }, store: false };
    const response = { id: 'resp_1', instructions: 'Do it.', text: { format, verbosity: 'medium' }, output: [] };
    const c = new TemplateCompactor();
    const out = c.compact(request, response);
    expect(JSON.stringify(out.request)).not.toContain('Do it.');
    expect(JSON.stringify(out.response)).not.toContain('Do it.');
    expect(JSON.stringify(out.response)).toContain('medium');
    const store = new Map(out.templates.map((t) => [t.key, t.json]));
    expect(store.size).toBe(2);
    expect(expandTemplates(out.request, (k) => store.get(k))).toEqual(request);
    expect(expandTemplates(out.response, (k) => store.get(k))).toEqual(response);
    expect(JSON.stringify(Object.keys(expandTemplates(out.request, (k) => store.get(k)) as object))).toBe(JSON.stringify(Object.keys(request)));
  });

  it('handles chat requests (system message, response_format)', () => {
    const request = { model: 'm', messages: [{ role: 'system', content: 'Rules.' }, { role: 'user', content: '{}' }], response_format: { type: 'json_schema' } };
    const out = new TemplateCompactor().compact(request, { id: 'chatcmpl-1' });
    const store = new Map(out.templates.map((t) => [t.key, t.json]));
    expect(JSON.stringify(out.request)).not.toContain('Rules.');
    expect(expandTemplates(out.request, (k) => store.get(k))).toEqual(request);
  });
});
