/** Injected faults: a FIFO list; each request consumes at most one matching fault. */
import type { OpenAIFault, PendingFault } from './types.js';

export class FaultQueue {
  private pending: PendingFault[] = [];

  add(fault: OpenAIFault): void {
    const times = fault.times ?? 1;
    if (times > 0) this.pending.push({ fault, remaining: times });
  }

  clear(): void {
    this.pending = [];
  }

  /** Copies of the queued faults, first to match first. */
  list(): PendingFault[] {
    return this.pending.map((p) => ({ fault: { ...p.fault }, remaining: p.remaining }));
  }

  /**
   * The first fault whose `match` occurs in one of the body texts (or that has no match), consumed once.
   * A 'flex_unavailable' fault is a lack of flex capacity: only a request served by flex (`flex`) can meet it.
   */
  take(bodyTexts: string[], flex = false): OpenAIFault | undefined {
    const i = this.pending.findIndex(
      (p) =>
        (flex || p.fault.kind !== 'flex_unavailable') &&
        (p.fault.match === undefined || bodyTexts.some((t) => t.includes(p.fault.match as string))),
    );
    const hit = this.pending[i];
    if (!hit) return undefined;
    hit.remaining -= 1;
    if (hit.remaining <= 0) this.pending.splice(i, 1);
    return hit.fault;
  }
}
