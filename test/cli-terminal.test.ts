/**
 * `sync --all` in a real terminal (a pseudo-terminal from util-linux `script`), stopped with Ctrl-C
 * typed into it: the progress bar keeps its one line (the stopping note goes into it, not between
 * the bar and the line the bar returns to), the cursor it hid is shown again, and the summary starts
 * on a line of its own. And a run stopped while its last records answer is finished, not interrupted.
 */
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syntheticCustomers } from '../emulators/emulate-command.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { REPO_ROOT } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe('sync --all in a terminal', () => {
  it.skipIf(!hasScript)('Ctrl-C: the bar says it stops, gives the cursor back, and the summary is on its own line', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(40) }, openai: { latencyMs: 400 } });
    const cmd = [process.execPath, '--import', path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs'), path.join(REPO_ROOT, 'bin/main.ts'), 'sync', '--all', '--yes', '--concurrency', '2'].map(quote).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: h.dir, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...h.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const kill = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no exit in time:\n${out}`))), 45_000);
      const typed = setInterval(() => {
        // Ctrl-C once the bar shows some progress, typed into the terminal as a person would.
        if (/[1-9]\d*\/\d+ done ·/.test(out)) {
          clearInterval(typed);
          child.stdin.write('\x03');
        }
      }, 50);
      child.on('exit', (c) => (clearTimeout(kill), clearInterval(typed), resolve(c)));
    });
    const saved = out.indexOf('\x1b7');
    const restored = out.lastIndexOf('\x1b8');
    expect(saved, out).toBeGreaterThanOrEqual(0);
    expect(restored).toBeGreaterThan(saved);
    const barPart = out.slice(saved, restored);
    // Nothing printed on lines of its own while the bar held the terminal (the bar would write over them).
    expect(barPart).not.toMatch(/\n/);
    expect(barPart).toContain('stopping after the records in flight');
    expect(barPart).toContain('\x1b[?25h'); // the cursor is shown again
    expect(out.slice(restored)).toMatch(/^\x1b8\r?\nInterrupted: \d+ written/);
    expect(out).toContain('Run the same command again to continue');
    expect(code).toBe(130);
  }, 60_000);

  it('stopped as the last records answer, the run is finished, not interrupted', async () => {
    h = await startHarness({ ipaas: { customers: syntheticCustomers(4) }, openai: { latencyMs: 300 } });
    const abort = new AbortController();
    const r = await runBulk(h.connector, {
      params: { mode: 'direct' },
      concurrency: 16,
      signal: abort.signal,
      progressEveryMs: 0,
      // Every customer is in flight or done, some still in flight: stop now; the drain lets them answer.
      onProgress: (p) => {
        if (p.enumerationDone && p.counts.pending === 0 && p.counts.calling > 0) abort.abort();
      },
    });
    expect(abort.signal.aborted).toBe(true);
    expect(r.counts.pending + r.counts.calling + r.counts.answered).toBe(0);
    expect(r).toMatchObject({ finished: true, interrupted: false });
  });
});
