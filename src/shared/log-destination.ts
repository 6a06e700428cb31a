import { mkdirSync, openSync, write, writeSync } from 'node:fs';
import path from 'node:path';

/** Lines waiting beyond this are dropped (a disk slower than the log, a stderr nobody reads). */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
/** After a failed write, lines are dropped for this long before the next try (default). */
const RETRY_AFTER_MS = 5_000;
/** flush() waits at most this long: closing never waits on a stuck disk. */
const FLUSH_LIMIT_MS = 2_000;

/** Every destination still open, flushed once more (one try, no waiting) when the process exits. */
const open = new Set<LogDestination>();
let exitHook = false;

/**
 * Where pino's lines go: a file opened for appending, or stderr. Written in the background and never
 * waited for, so the log cannot block the process: a write that fails (a full or read-only disk)
 * drops lines, says so once on stderr and tries again 5 s later, and at exit each line gets one try.
 * pino's own file destination retries a failed write every 100 ms for ever when it flushes at exit,
 * which hung `serve` on a full disk with nothing printed.
 */
export class LogDestination {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** The note after a failure is being written: the first try since. */
  private probing = false;
  private failing: { code: string; dropped: number; retryAt: number; midLine: boolean } | undefined;
  /** Lines dropped because too much was waiting (not a failed write). */
  private overflow = 0;
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly fd: number,
    /** The file, or "stderr": named in what is said about it. */
    readonly where: string,
    /** Where problems with this destination are said (stderr; nothing when this is stderr). */
    private readonly report: (line: string) => void,
    private readonly retryAfterMs = RETRY_AFTER_MS,
  ) {
    open.add(this);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const d of open) d.flushSync();
      });
    }
  }

  /** Opens `file` for appending now, so a path that cannot be written fails at start, with its fix. */
  static toFile(file: string, options: { retryAfterMs?: number } = {}): LogDestination {
    mkdirSync(path.dirname(file), { recursive: true });
    const report = (line: string) => {
      try {
        process.stderr.write(`${line}\n`);
      } catch {
        // stderr closed: nothing left to tell.
      }
    };
    return new LogDestination(openSync(file, 'a'), file, report, options.retryAfterMs);
  }

  static toStderr(): LogDestination {
    return new LogDestination(2, 'stderr', () => {});
  }

  /** pino's stream interface: queue the line, write in the background. */
  write(line: string): boolean {
    if (this.failing && !this.probing) {
      if (Date.now() < this.failing.retryAt) {
        this.failing.dropped++;
        return true;
      }
      this.probe();
    }
    if (this.queuedBytes + line.length > MAX_QUEUED_BYTES) {
      if (this.overflow++ === 0) this.report(`ipaas-openai: the log ${this.where} is written more slowly than lines come; lines are dropped until it catches up.`);
      return true;
    }
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (!this.writing) this.writeQueued();
    return true;
  }

  private writeQueued(): void {
    if (this.overflow > 0) {
      this.queue.unshift(this.noteLine(`${this.overflow} log lines were dropped: the log was written more slowly than lines came.`));
      this.overflow = 0;
    }
    const buf = Buffer.from(this.queue.join(''));
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = true;
    this.writeBuffer(buf);
  }

  /**
   * After a failure, the first try is the note that explains the gap (ending a line the failure cut
   * short first), so that it lands before what comes next; lines meanwhile wait in the queue.
   */
  private probe(): void {
    const f = this.failing!;
    this.probing = true;
    this.writing = true;
    this.writeBuffer(Buffer.from(`${f.midLine ? '\n' : ''}${this.noteLine(`${f.dropped} log lines were dropped: the log could not be written (${f.code}).`)}`));
  }

  /**
   * `midLine`, once part of this buffer is written: whether that part ended inside a line (so a
   * failure now leaves half a line in the file); undefined while nothing of it is written.
   */
  private writeBuffer(buf: Buffer, midLine?: boolean): void {
    write(this.fd, buf, 0, buf.length, null, (err, n) => {
      if (err) {
        // A non-blocking stderr pipe that is full: wait for its reader (the queue is bounded meanwhile).
        if (err.code === 'EAGAIN') return void setTimeout(() => this.writeBuffer(buf, midLine), 100).unref();
        return this.failed(err, buf, midLine);
      }
      if (n < buf.length) return this.writeBuffer(buf.subarray(n), buf[n - 1] !== 0x0a);
      if (this.probing) this.recovered();
      if (this.queue.length) return this.writeQueued();
      this.writing = false;
      this.wakeWaiters();
    });
  }

  private failed(err: NodeJS.ErrnoException, buf: Buffer, midLine: boolean | undefined): void {
    // A failed note is not a dropped line; what waited behind it is.
    const lines = (this.probing ? 0 : countLines(buf)) + this.queue.length;
    this.probing = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = false;
    const code = err.code ?? 'EIO';
    if (!this.failing) {
      this.report(
        `ipaas-openai: cannot write the log ${this.where} (${err.message}); log lines are dropped until it can be written (tried every ${this.retryAfterMs / 1000} s). ` +
          `Fix: ${code === 'ENOSPC' ? 'free space on that disk' : 'make it writable'}, or point log.path elsewhere ("-" for stderr).`,
      );
      this.failing = { code, dropped: 0, retryAt: 0, midLine: false };
    }
    if (midLine !== undefined) this.failing.midLine = midLine;
    this.failing.dropped += lines;
    this.failing.retryAt = Date.now() + this.retryAfterMs;
    this.wakeWaiters();
  }

  private recovered(): void {
    const { dropped } = this.failing!;
    this.failing = undefined;
    this.probing = false;
    this.report(`ipaas-openai: the log ${this.where} is written again; ${dropped} log lines were dropped meanwhile (the log says so too).`);
  }

  /** A line of our own in the log's format, so the gap is explained where it is. */
  private noteLine(msg: string): string {
    return `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), service: 'ipaas-openai', msg })}\n`;
  }

  private wakeWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** pino's logger.flush(cb): once what is queued is written or given up on (at most 2 s). */
  flush(cb?: (err?: Error) => void): void {
    const done = () => cb?.();
    if (!this.writing && this.queue.length === 0) return void process.nextTick(done);
    let called = false;
    const once = () => {
      if (called) return;
      called = true;
      clearTimeout(timer);
      done();
    };
    const timer = setTimeout(once, FLUSH_LIMIT_MS);
    timer.unref();
    this.waiters.push(once);
  }

  /**
   * One synchronous try for what is queued, without retrying or waiting (pino's logger.fatal, and
   * at exit). A line already handed to a background write is left to it.
   */
  flushSync(): void {
    if (this.queue.length === 0 || this.failing) return;
    const buf = Buffer.from(this.queue.join(''));
    this.queue = [];
    this.queuedBytes = 0;
    try {
      writeSync(this.fd, buf);
    } catch {
      // At exit there is no one to tell but stderr, and that may be this very destination.
    }
  }
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}
