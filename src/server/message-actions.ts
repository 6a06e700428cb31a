import { setTimeout as sleep } from 'node:timers/promises';
import type { SyncDeps } from '../app/sync-deps.js';
import type { PlanCache } from '../queue/plan-cache.js';
import type { StoredMessage } from '../store/ports.js';
import { actOnMessage, failedAction, type MessageAction } from '../triggers/openai-webhook.js';

/**
 * Acts on Messages after their delivery was acknowledged: applying a batch of 50,000 lines takes longer
 * than OpenAI waits for an answer, and the Message, once stored, is what may not be lost (a poll applies
 * the batch even if this process dies part way). Stopping interrupts them between lines and waits.
 */
export class MessageActions {
  private readonly running = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: SyncDeps,
    private readonly plans: PlanCache,
    /** Answers were stored: the workers have something to write back. */
    private readonly onAnswers: () => void,
  ) {}

  start(m: StoredMessage): void {
    const p = this.act(m).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  private async act(m: StoredMessage): Promise<void> {
    let action: MessageAction;
    try {
      action = await actOnMessage(this.deps, this.plans, m, this.stopping.signal);
    } catch (err) {
      action = failedAction(err);
    }
    if (action.lines) this.onAnswers();
    const line = { messageId: m.id, webhookId: m.webhookId, outcome: action.outcome, detail: action.detail };
    try {
      await this.deps.store.messages.settle(m.webhookId, action);
    } catch (err) {
      this.deps.logger.error({ ...line, err: (err as Error).message }, 'the outcome of an OpenAI webhook could not be stored; it shows as received');
      return;
    }
    this.deps.logger[action.outcome === 'error' ? 'warn' : 'info'](line, 'openai webhook acted on');
  }

  /** Interrupts what runs (between lines) and waits for it, at most `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.stopping.abort();
    await Promise.race([Promise.allSettled([...this.running]), sleep(graceMs, undefined, { ref: false })]);
  }
}
