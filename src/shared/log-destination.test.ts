/**
 * The log never blocks the process: on a disk that answers ENOSPC to every write (/dev/full) lines
 * are dropped and said so once, flush() returns, and a process that exits does exit.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fillDisk, mountTmpfs, unmountTmpfs } from '../../test/helpers/tmpfs.js';
import { LogDestination } from './log-destination.js';
import { createLogger } from './logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-log-'));
const disk = path.join(dir, 'disk');
let mounted = false;
afterAll(() => {
  if (mounted) unmountTmpfs(disk);
  rmSync(dir, { recursive: true, force: true });
});
const here = path.dirname(fileURLToPath(import.meta.url));
const TSX_LOADER = path.resolve(here, '../../node_modules/tsx/dist/loader.mjs');
const FULL = '/dev/full';
const noDevFull = !existsSync(FULL);
if (noDevFull) console.log(`[log-destination] skipped the full-disk cases: ${FULL} does not exist on this system (it answers ENOSPC to every write on Linux).`);

describe('the log destination', () => {
  it('writes every line, in order, before flush calls back', async () => {
    const file = path.join(dir, 'ordered.log');
    const logger = createLogger({ level: 'info', file, redact: (s) => s, instance: 't' });
    for (let i = 0; i < 2000; i++) logger.info({ i }, 'line');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number; level: string; instance: string });
    expect(lines.map((l) => l.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(lines[0]).toMatchObject({ level: 'info', instance: 't' });
  });

  it.skipIf(noDevFull)('on a full disk: flush returns, nothing throws, and the failure is said once on stderr', async () => {
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (said.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      const logger = createLogger({ level: 'info', file: FULL, redact: (s) => s });
      const t0 = Date.now();
      for (let i = 0; i < 500; i++) logger.info({ i }, 'line');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      for (let i = 0; i < 500; i++) logger.error({ i }, 'more');
      logger.fatal('fatal flushes synchronously');
      await new Promise<void>((resolve) => logger.flush(() => resolve()));
      expect(Date.now() - t0).toBeLessThan(1_000);
    } finally {
      process.stderr.write = write;
    }
    const about = said.filter((l) => l.includes(`cannot write the log ${FULL}`));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/ENOSPC.*lines are dropped.*Fix: free space on that disk/);
  });

  it.skipIf(noDevFull)('on a full disk: a process that logs and exits, exits at once (pino alone retried ENOSPC every 100 ms for ever at exit)', async () => {
    const script = path.join(dir, 'exit.ts');
    writeFileSync(
      script,
      `import { createLogger } from ${JSON.stringify(path.join(here, 'logger.ts'))};
       const logger = createLogger({ level: 'info', file: ${JSON.stringify(FULL)}, redact: (s) => s });
       for (let i = 0; i < 1000; i++) logger.info({ i }, 'line');
       setTimeout(() => { logger.error('last words'); process.exit(3); }, 50);`,
    );
    const child = spawn(process.execPath, ['--import', TSX_LOADER, script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.on('exit', (c) => (clearTimeout(kill), resolve(c)));
    });
    expect({ code, err: err.slice(0, 500) }).toMatchObject({ code: 3 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toContain(`cannot write the log ${FULL} (ENOSPC`);
  });

  it('when the disk has room again, lines are written again and the log says how many were dropped (a tmpfs, as root)', async (ctx) => {
    const reason = mountTmpfs(disk, '1m');
    if (reason) {
      console.log(`[log-destination] skipped the recovery case: ${reason}.`);
      ctx.skip(reason);
    }
    mounted = true;
    const file = path.join(disk, 'connector.log');
    const log = LogDestination.toFile(file, { retryAfterMs: 100 });
    const flushed = () => new Promise<void>((resolve) => log.flush(() => resolve()));
    log.write('{"msg":"before"}\n');
    await flushed();
    fillDisk(disk);
    // More than the page the log file already has (tmpfs fills the last one it allocated), each line 2 kB.
    for (let i = 0; i < 5; i++) log.write(`${JSON.stringify({ msg: `lost ${i}`, pad: 'x'.repeat(2000) })}\n`);
    await flushed();
    rmSync(path.join(disk, 'filler'));
    await new Promise((r) => setTimeout(r, 150));
    log.write('{"msg":"after"}\n');
    await flushed();
    const raw = readFileSync(file, 'utf8').trim().split('\n');
    const parsed = raw.map((l) => {
      try {
        return JSON.parse(l) as { msg: string; level?: string };
      } catch {
        return { msg: '(a line cut short by the full disk)' };
      }
    });
    // Whole lines that fitted in the file's last page, then at most one line cut short, then the note.
    const written = parsed.filter((l) => l.msg.startsWith('lost ')).length;
    const cut = parsed.filter((l) => l.msg.startsWith('(a line cut')).length;
    expect(cut).toBeLessThanOrEqual(1);
    expect(parsed.map((l) => l.msg)).toEqual([
      'before',
      ...Array.from({ length: written }, (_, i) => `lost ${i}`),
      ...(cut ? ['(a line cut short by the full disk)'] : []),
      `${5 - written} log lines were dropped: the log could not be written (ENOSPC).`,
      'after',
    ]);
    expect(written).toBeLessThan(5);
    expect(parsed.at(-2)!.level).toBe('warn');
  });
});
