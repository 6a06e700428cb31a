/**
 * The contract of the Messages port (inbound OpenAI webhooks), part of the storage contract run on every
 * adapter: one row per webhook-id however many deliveries arrive at once, read back whole and redacted.
 */
import { describe, expect, it } from 'vitest';
import { T } from './contract-fixtures.js';
import type { NewMessage, Storage } from './ports.js';

const SECRET_IN_BODY = 'sk-contract-SECRET-0123456789';

/** A delivery of `type` about `sourceId`, as the webhook route stores it. */
export function delivery(webhookId: string, type = 'batch.completed', sourceId = 'batch_abc', extra = ''): NewMessage {
  const body = JSON.stringify({ id: `evt_${webhookId}`, object: 'event', type, created_at: 1_800_000_000, data: { id: sourceId }, note: extra });
  return { webhookId, id: `${type}:${sourceId}`, eventType: type, eventId: `evt_${webhookId}`, sourceId, body };
}

export function messagesContract(storage: () => Storage, instance: string): void {
  describe('messages (inbound OpenAI webhooks)', () => {
    it('stores a delivery once per webhook-id; a redelivery counts as a replay and changes nothing else', async () => {
      const s = storage();
      const m = delivery('wh_1', 'batch.completed', 'batch_abc', `key ${SECRET_IN_BODY}`);
      const first = await s.messages.record(m, T);
      expect(first.replay).toBe(false);
      const expected = {
        ...m, body: m.body.replace(SECRET_IN_BODY, '[REDACTED]'), receivedAt: T, outcome: 'received', detail: null, lines: null, actedAt: null,
        replays: 0, lastReplayAt: null, instance,
      };
      expect(first.message).toEqual(expected);
      const again = await s.messages.record({ ...m, body: '{"other":"body"}' }, T + 5);
      expect(again.replay).toBe(true);
      expect(again.message).toEqual({ ...expected, replays: 1, lastReplayAt: T + 5 });
      expect(await s.messages.get('wh_1')).toEqual(again.message);
      expect(await s.messages.get('wh_none')).toBeUndefined();
    });

    it('of deliveries of one webhook-id arriving at once, exactly one is the first', async () => {
      const s = storage();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => s.messages.record(delivery('wh_race'), T + i)));
      expect(results.filter((r) => !r.replay)).toHaveLength(1);
      expect((await s.messages.get('wh_race'))!.replays).toBe(5);
      expect((await s.messages.list()).total).toBe(1);
    });

    it('keeps what acting on it came to, the detail redacted', async () => {
      const s = storage();
      await s.messages.record(delivery('wh_2'), T);
      await s.messages.settle('wh_2', { outcome: 'applied', detail: `applied 3 lines ${SECRET_IN_BODY}`, lines: 3 }, T + 40);
      expect(await s.messages.get('wh_2')).toMatchObject({ outcome: 'applied', detail: 'applied 3 lines [REDACTED]', lines: 3, actedAt: T + 40 });
      await s.messages.settle('wh_2', { outcome: 'error', detail: 'OpenAI did not answer' }, T + 50);
      expect(await s.messages.get('wh_2')).toMatchObject({ outcome: 'error', detail: 'OpenAI did not answer', lines: null, actedAt: T + 50 });
    });

    it('lists newest first, by outcome and by source id, with the total for paging', async () => {
      const s = storage();
      await s.messages.record(delivery('wh_a', 'batch.completed', 'batch_1'), T);
      await s.messages.record(delivery('wh_b', 'batch.expired', 'batch_2'), T + 10);
      await s.messages.record(delivery('wh_c', 'response.completed', 'resp_1'), T + 20);
      await s.messages.settle('wh_b', { outcome: 'fallback', detail: 'expired', lines: 2 }, T + 30);
      const all = await s.messages.list();
      expect(all.total).toBe(3);
      expect(all.items.map((m) => m.id)).toEqual(['response.completed:resp_1', 'batch.expired:batch_2', 'batch.completed:batch_1']);
      expect((await s.messages.list({ outcome: 'fallback' })).items.map((m) => m.webhookId)).toEqual(['wh_b']);
      expect((await s.messages.list({ sourceId: 'batch_1' })).items.map((m) => m.webhookId)).toEqual(['wh_a']);
      const page = await s.messages.list({ limit: 1, offset: 1 });
      expect(page).toMatchObject({ total: 3, items: [{ webhookId: 'wh_b' }] });
    });
  });
}
