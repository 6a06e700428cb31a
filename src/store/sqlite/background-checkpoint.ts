import { Worker } from 'node:worker_threads';

// Plain CommonJS run in a worker thread: no build step or loader is needed to start it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const db = new (require('node:sqlite').DatabaseSync)(workerData.file);
db.exec('PRAGMA busy_timeout = 1000');
let told = false;
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const tick = () => {
  try {
    // PASSIVE copies without holding up the writer, but under steady writes it never reaches the WAL's end,
    // and SQLite starts the WAL over only from a fully copied one: it grew for good (1.4 GB in a 20,000-record
    // backfill) and every read searched more of its index. Past a size, RESTART copies the little that
    // PASSIVE left, holding new commits back for that moment, so the next commit writes from the start again.
    const r = passive.get();
    if (r && r.log >= workerData.restartFrames) db.exec('PRAGMA wal_checkpoint(RESTART)');
  } catch (e) {
    // A busy database is retried next tick; anything else (a full disk) is the store's to judge, once.
    const primary = (e.errcode ?? 0) & 0xff;
    if (primary !== 5 && primary !== 6 && !told) { told = true; parentPort.postMessage({ error: { message: e.message, code: e.code, errcode: e.errcode } }); }
  }
};
const timer = setInterval(tick, workerData.everyMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); tick(); db.close(); parentPort.postMessage('stopped'); } });
`;

/**
 * WAL checkpoints are where SQLite waits for the disk (fsync). Run on the
 * main thread they stall every request in flight; here a worker thread with
 * its own connection does them, so commits on the main thread only append to the WAL.
 */
export class BackgroundCheckpoint {
  private readonly worker: Worker;

  /** `onError` hears what failed other than a busy database (a checkpoint that cannot grow the file on a full disk). */
  /** `restartFrames`: the WAL size (in pages) from which it is started over; 16,384 pages of 4 KB is 64 MB. */
  constructor(file: string, onError: (err: Error) => void, everyMs = 1000, restartFrames = 16_384) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, everyMs, restartFrames } });
    this.worker.on('message', (m: { error?: { message: string; code?: string; errcode?: number } }) => {
      if (m && typeof m === 'object' && m.error) onError(Object.assign(new Error(m.error.message), { code: m.error.code, errcode: m.error.errcode }));
    });
    // The worker failing to open the file at all: an 'error' event nobody listens to would end the process.
    this.worker.on('error', (err) => onError(err));
    this.worker.unref();
  }

  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (m) => m === 'stopped' && resolve());
      this.worker.once('exit', () => resolve());
    });
    // Wait for its answer even when nothing else keeps the process alive (unref'd, it would just end mid-stop).
    this.worker.ref();
    this.worker.postMessage('stop');
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }
}
