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
import { createLogger } from './logger.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
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
});
