import type { StoredMessage } from '../../store/ports.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** One Message a line: when, its id (scope:source id), what came of it, and its redeliveries. */
function messageLine(m: StoredMessage): string {
  const replays = m.replays ? ` (${m.replays} replay${m.replays === 1 ? '' : 's'} ignored, last ${iso(m.lastReplayAt!)})` : '';
  return `${iso(m.receivedAt)} ${m.id} ${m.outcome.toUpperCase()}${m.lines !== null ? ` ${m.lines} lines` : ''}${replays} webhook-id ${m.webhookId}${m.instance ? ` on ${m.instance}` : ''}${m.detail ? `\n    ${m.detail}` : ''}`;
}

/** `logs --messages`: the inbound OpenAI webhooks, newest first. */
export function messageLines(page: { items: StoredMessage[]; total: number }, location: string): string[] {
  if (page.items.length === 0) return [`No OpenAI webhooks received in ${location} (serve takes them at POST /webhooks/openai once OPENAI_WEBHOOK_SECRET is set).`];
  return [`${page.items.length} of ${page.total} Message${page.total === 1 ? '' : 's'} (webhooks from OpenAI, newest first):`, ...page.items.map(messageLine)];
}
