import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../test/helpers/csv.js';
import type { ActivityItem, ViewsPort } from '../store/ports.js';
import { activityCsv, csvField, csvHeader, csvLine } from './activity-csv.js';

const item = (id: number, fields: Partial<ActivityItem> = {}): ActivityItem => ({
  id, startedAt: '2026-05-01T10:00:00.000Z', finishedAt: '2026-05-01T10:00:01.000Z', customerNumber: `C-${id}`, customerId: null, requestedRef: `C-${id}`,
  trigger: 'manual', outcome: 'synced', errorCode: null, reason: null, fix: null, totalMs: 12.5, inputTokens: 10, cachedTokens: 0, outputTokens: 5,
  costUsd: 0.000035900000000000005, jobId: 7, flags: null, instance: 'node-1', tryNumber: 1, maxTries: 6, nextTryAt: null, promptVersion: null, ...fields,
});

describe('activity CSV', () => {
  it('quotes what needs quoting (RFC 4180) and defuses spreadsheet formulas', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField(null)).toBe('');
    expect(csvField(3)).toBe('3');
    const line = csvLine(item(1, { reason: 'Bad "Comment", see\r\nbelow', customerNumber: '@evil', flags: ['a', 'b'], outcome: 'retrying', nextTryAt: '2026-05-01T10:01:00.000Z', promptVersion: '3f0c9a1b2d' }), (s) => s);
    const [header, row] = parseCsv(csvHeader() + line);
    const rec = Object.fromEntries(header!.map((k, i) => [k, row![i]]));
    expect(rec).toMatchObject({ attempt_id: '1', customer_number: "'@evil", outcome: 'retrying', try: '1', max_tries: '6', next_try_at: '2026-05-01T10:01:00.000Z', reason: 'Bad "Comment", see\r\nbelow', cost_usd: '0.0000359', flags: 'a; b', instance: 'node-1', prompt_version: '3f0c9a1b2d' });
  });

  it('passes every text through the redactor', () => {
    const line = csvLine(item(1, { reason: 'key sk-SECRET-1234 refused', fix: 'replace sk-SECRET-1234' }), (s) => s.split('sk-SECRET-1234').join('[REDACTED]'));
    expect(line).not.toContain('sk-SECRET-1234');
    expect(line).toContain('key [REDACTED] refused');
  });

  it('reads the log a page at a time by id, so memory holds one page', async () => {
    const all = Array.from({ length: 23 }, (_, i) => item(23 - i));
    const asked: Array<{ beforeId: number | undefined; limit: number }> = [];
    const views = {
      activityRows: async (_filter: unknown, page: { beforeId?: number; limit: number }) => {
        asked.push({ beforeId: page.beforeId, limit: page.limit });
        return all.filter((a) => page.beforeId === undefined || a.id < page.beforeId).slice(0, page.limit);
      },
    } as unknown as ViewsPort;
    let text = '';
    for await (const chunk of activityCsv(views, { outcome: 'synced' }, (s) => s, 10)) text += chunk;
    const rows = parseCsv(text);
    expect(rows.slice(1).map((r) => Number(r[0]))).toEqual(all.map((a) => a.id));
    expect(asked).toEqual([{ beforeId: undefined, limit: 10 }, { beforeId: 14, limit: 10 }, { beforeId: 4, limit: 10 }]);
  });
});
