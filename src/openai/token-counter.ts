import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS run in a worker thread: no build step or loader is needed to start it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { encode } = require(workerData.tokenizer);
const none = { disallowedSpecial: new Set() };
parentPort.on('message', ({ id, texts }) => {
  try { parentPort.postMessage({ id, counts: texts.map((t) => (t ? encode(t, none).length : 0)) }); }
  catch (e) { parentPort.postMessage({ id, error: String(e && e.message || e) }); }
});
`;

/** How long an idle tokenizer thread is kept for the next count before it ends and its memory goes back. */
const IDLE_MS = 5_000;

/**
 * The o200k_base tokenizer (GPT-4o / GPT-5 family) in a worker thread of its own. Loading it takes
 * ~65 MB and a few hundred milliseconds of CPU: in the main thread that memory stayed for the life of
 * the process (a backfill of 100,000 customers carried it to the end; serve after one prompt-lab
 * trial, for good) and the load stalled serve's event loop. The thread ends when idle, and the memory
 * with it; counting never blocks the caller's loop.
 */
class TokenCounter {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (n: number[]) => void; reject: (e: Error) => void }>();
  private idle: NodeJS.Timeout | undefined;

  /** Exact token counts of `texts` (an empty text counts 0). */
  count(texts: string[]): Promise<number[]> {
    const worker = this.start();
    clearTimeout(this.idle);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Waiting for an answer keeps the process alive; an idle thread does not.
      worker.ref();
      worker.postMessage({ id, texts });
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const tokenizer = createRequire(import.meta.url).resolve('gpt-tokenizer/encoding/o200k_base');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { tokenizer } });
    worker.on('message', (m: { id: number; counts?: number[]; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.counts) w.resolve(m.counts);
      else w.reject(new Error(`Counting tokens failed: ${m.error} (a bug in the connector: please report it).`));
      if (this.waiting.size === 0) this.rest();
    });
    const fail = (err: Error) => {
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('The tokenizer thread ended before it answered (a bug in the connector: please report it).')));
    this.worker = worker;
    return worker;
  }

  private rest(): void {
    this.worker?.unref();
    clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.close(), IDLE_MS);
    this.idle.unref();
  }

  /** Ends the thread now (the next count starts another); one still counting ends once idle instead. */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    if (!w || this.waiting.size) return;
    this.worker = undefined;
    await w.terminate();
  }
}

const shared = new TokenCounter();

/** Exact o200k_base token counts of `texts`, counted in the tokenizer's own thread. */
export function countTokens(texts: string[]): Promise<number[]> {
  return shared.count(texts);
}

/** Ends the tokenizer thread now instead of after it idled (a command about to exit, tests). */
export function releaseTokenizer(): Promise<void> {
  return shared.close();
}
