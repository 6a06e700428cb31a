import type { SqliteDatabase } from './sqlite-database.js';
import { toMessage } from '../message-rows.js';
import type { MessageOutcome, MessageQuery, MessagesPort, NewMessage, StoredMessage } from '../ports.js';

type Row = Record<string, unknown>;

/** Inbound OpenAI webhooks, one row per webhook-id; the body and the detail pass the redactor. */
export class SqliteMessages implements MessagesPort {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly redact: (text: string) => string,
    private readonly instance: string | null,
  ) {}

  /** One upsert: the row that comes back says whether this delivery was the first (no replay counted yet). */
  async record(m: NewMessage, now = Date.now()): Promise<{ message: StoredMessage; replay: boolean }> {
    const row = this.db
      .prepare(
        `INSERT INTO messages (webhook_id, message_id, event_type, event_id, source_id, body, received_at, instance)
         VALUES (@webhookId, @id, @eventType, @eventId, @sourceId, @body, @now, @instance)
         ON CONFLICT(webhook_id) DO UPDATE SET replays = replays + 1, last_replay_at = excluded.received_at
         RETURNING *`,
      )
      .get({ webhookId: m.webhookId, id: m.id, eventType: m.eventType, eventId: m.eventId, sourceId: m.sourceId, body: this.redact(m.body), now, instance: this.instance }) as Row;
    const message = toMessage(row);
    return { message, replay: message.replays > 0 };
  }

  async settle(webhookId: string, s: { outcome: Exclude<MessageOutcome, 'received'>; detail: string | null; lines?: number | null | undefined }, now = Date.now()): Promise<void> {
    this.db
      .prepare('UPDATE messages SET outcome = ?, detail = ?, lines = ?, acted_at = ? WHERE webhook_id = ?')
      .run(s.outcome, s.detail === null ? null : this.redact(s.detail), s.lines ?? null, now, webhookId);
  }

  async list(q: MessageQuery = {}): Promise<{ items: StoredMessage[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.outcome) (where.push('outcome = ?'), params.push(q.outcome));
    if (q.sourceId) (where.push('source_id = ?'), params.push(q.sourceId));
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.db.prepare(`SELECT * FROM messages ${w} ORDER BY received_at DESC, rowid DESC LIMIT ? OFFSET ?`).all(...params, q.limit ?? 50, q.offset ?? 0) as Row[];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM messages ${w}`).get(...params) as { n: number }).n;
    return { items: rows.map(toMessage), total };
  }

  async get(webhookId: string): Promise<StoredMessage | undefined> {
    const r = this.db.prepare('SELECT * FROM messages WHERE webhook_id = ?').get(webhookId) as Row | undefined;
    return r ? toMessage(r) : undefined;
  }
}
