import { Worker } from 'node:worker_threads';

// Plain CommonJS run in a worker thread: no build step or loader is needed to start it.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const db = new (require('node:sqlite').DatabaseSync)(workerData.file);
db.exec('PRAGMA busy_timeout = 1000');
const tick = () => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch (e) { /* a busy database is retried next tick */ } };
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

  constructor(file: string, everyMs = 1000) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, everyMs } });
    this.worker.unref();
  }

  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage('stop');
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.worker.terminate();
  }
}
