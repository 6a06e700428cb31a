import { describe, expect, it } from 'vitest';
import { parseTrigger, skipsUnchanged, triggerLabel, type JobTrigger } from './trigger.js';

describe('job triggers', () => {
  const cases: Array<[JobTrigger, string]> = [
    [{ source: 'manual' }, 'manual'],
    [{ source: 'manual', debug: true }, 'manual-debug'],
    [{ source: 'webhook', event: 'created' }, 'webhook:created'],
    [{ source: 'webhook', event: 'updated', debug: true }, 'webhook:updated-debug'],
    [{ source: 'webhook', event: 'deleted' }, 'webhook:deleted'],
    [{ source: 'bulk' }, 'bulk'],
    [{ source: 'bulk', force: true }, 'bulk-force'],
    [{ source: 'batch' }, 'batch'],
    [{ source: 'batch', fallback: true }, 'batch-fallback'],
    [{ source: 'retry' }, 'retry'],
    [{ source: 'demo' }, 'demo'],
  ];
  it.each(cases)('%o is labelled %s, and the label reads back to the same fields', (t, label) => {
    expect(triggerLabel(t)).toBe(label);
    expect(triggerLabel(parseTrigger(label))).toBe(label);
  });

  it('flex is a mark on any trigger, read back with it', () => {
    expect(triggerLabel({ source: 'bulk', force: true, flex: true })).toBe('bulk-force+flex');
    expect(parseTrigger('bulk-force+flex')).toEqual({ source: 'bulk', force: true, flex: true });
    expect(parseTrigger('bulk')).not.toHaveProperty('flex');
  });

  it('only webhooks, batches and unforced bulk runs skip unchanged records', () => {
    expect(cases.filter(([t]) => skipsUnchanged(t)).map(([, l]) => l)).toEqual(['webhook:created', 'webhook:updated-debug', 'webhook:deleted', 'bulk', 'batch', 'batch-fallback']);
  });
});
