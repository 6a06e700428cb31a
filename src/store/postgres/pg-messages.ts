import { toMessage } from '../message-rows.js';
import type { MessageOutcome, MessageQuery, MessagesPort, NewMessage, StoredMessage } from '../ports.js';
import type { Redaction } from '../redaction.js';
import type { PgDatabase } from './pg-database.js';

/** Inbound OpenAI webhooks every instance sees, one row per webhook-id; the body and the detail pass the redactor. */
export class PgMessages implements MessagesPort {
  constructor(
    private readonly db: PgDatabase,
    private readonly r: Redaction,
    private readonly instance: string | null,
  ) {}

  /**
   * One upsert: of instances receiving the same delivery at once, the first insert wins and the others
   * wait on its row, then count a replay. The row that comes back says which this call was.
   */
  async record(m: NewMessage, now?: number): Promise<{ message: StoredMessage; replay: boolean }> {
    const t = await this.db.clock(now);
    const row = (
      await this.db.query(
        `INSERT INTO messages (webhook_id, message_id, event_type, event_id, source_id, body, received_at, instance)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (webhook_id) DO UPDATE SET replays = messages.replays + 1, last_replay_at = excluded.received_at
         RETURNING *`,
        [m.webhookId, m.id, m.eventType, m.eventId, m.sourceId, this.r.text(m.body), t, this.instance],
      )
    ).rows[0]!;
    const message = toMessage(row);
    return { message, replay: message.replays > 0 };
  }

  async settle(webhookId: string, s: { outcome: Exclude<MessageOutcome, 'received'>; detail: string | null; lines?: number | null | undefined }, now?: number): Promise<void> {
    const t = await this.db.clock(now);
    await this.db.query('UPDATE messages SET outcome = $1, detail = $2, lines = $3, acted_at = $4 WHERE webhook_id = $5', [s.outcome, this.r.text(s.detail), s.lines ?? null, t, webhookId]);
  }

  async list(q: MessageQuery = {}): Promise<{ items: StoredMessage[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (q.outcome) where.push(`outcome = $${params.push(q.outcome)}`);
    if (q.sourceId) where.push(`source_id = $${params.push(q.sourceId)}`);
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const rows = (await this.db.query(`SELECT * FROM messages ${w} ORDER BY received_at DESC, seq DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, q.limit ?? 50, q.offset ?? 0])).rows;
    const total = Number((await this.db.query(`SELECT count(*) AS n FROM messages ${w}`, params)).rows[0].n);
    return { items: rows.map(toMessage), total };
  }

  async get(webhookId: string): Promise<StoredMessage | undefined> {
    const r = (await this.db.query('SELECT * FROM messages WHERE webhook_id = $1', [webhookId])).rows[0];
    return r ? toMessage(r) : undefined;
  }
}
