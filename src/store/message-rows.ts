import type { MessageOutcome, StoredMessage } from './ports.js';

type Row = Record<string, unknown>;

/** A messages row as both adapters read it (numbers may come back as bigint or text). */
export const toMessage = (r: Row): StoredMessage => ({
  webhookId: r.webhook_id as string,
  id: r.message_id as string,
  eventType: r.event_type as string,
  eventId: (r.event_id as string | null) ?? null,
  sourceId: (r.source_id as string | null) ?? null,
  body: r.body as string,
  receivedAt: Number(r.received_at),
  outcome: r.outcome as MessageOutcome,
  detail: (r.detail as string | null) ?? null,
  lines: r.lines === null || r.lines === undefined ? null : Number(r.lines),
  actedAt: r.acted_at === null || r.acted_at === undefined ? null : Number(r.acted_at),
  replays: Number(r.replays),
  lastReplayAt: r.last_replay_at === null || r.last_replay_at === undefined ? null : Number(r.last_replay_at),
  instance: (r.instance as string | null) ?? null,
});

