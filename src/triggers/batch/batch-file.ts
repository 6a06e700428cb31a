import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One request line of an OpenAI batch input file. */
export interface BatchLine {
  customId: string;
  jobId: number;
  json: string;
}

export interface BatchFile {
  path: string;
  lines: number;
  bytes: number;
  jobIds: number[];
}

/**
 * Writes JSONL input files on disk (not in memory: a file may hold 50,000
 * requests), starting a new file before OpenAI's per-file limits are crossed.
 */
export class BatchFileWriter {
  private dir: string | undefined;
  private current: { stream: WriteStream; file: BatchFile } | undefined;
  private readonly done: BatchFile[] = [];
  private n = 0;
  /** Lines are prepared concurrently; writing them is one at a time (files roll over between lines). */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly limits: { maxLinesPerFile: number; maxFileBytes: number }) {}

  add(line: BatchLine): Promise<void> {
    const next = this.chain.then(() => this.write(line));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(line: BatchLine): Promise<void> {
    const bytes = Buffer.byteLength(line.json) + 1;
    if (bytes > this.limits.maxFileBytes) throw new Error(`Batch line ${line.customId} is ${bytes} bytes, more than a whole batch file may hold (${this.limits.maxFileBytes}).`);
    if (this.current && (this.current.file.lines >= this.limits.maxLinesPerFile || this.current.file.bytes + bytes > this.limits.maxFileBytes)) await this.closeCurrent();
    if (!this.current) {
      this.dir ??= await mkdtemp(path.join(tmpdir(), 'ipaas-openai-batch-'));
      const file: BatchFile = { path: path.join(this.dir, `input-${++this.n}.jsonl`), lines: 0, bytes: 0, jobIds: [] };
      this.current = { stream: createWriteStream(file.path), file };
    }
    const { stream, file } = this.current;
    if (!stream.write(`${line.json}\n`)) await new Promise<void>((r) => stream.once('drain', () => r()));
    file.lines++;
    file.bytes += bytes;
    file.jobIds.push(line.jobId);
  }

  private async closeCurrent(): Promise<void> {
    if (!this.current) return;
    const { stream, file } = this.current;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    this.done.push(file);
    this.current = undefined;
  }

  /** All files, closed and ready to upload. */
  async finish(): Promise<BatchFile[]> {
    await this.chain;
    await this.closeCurrent();
    return this.done;
  }

  async cleanup(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
