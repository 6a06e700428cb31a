import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from './helpers/cli.js';
import { startEmulatorProcess } from './helpers/processes.js';
import { waitFor } from './helpers/service-harness.js';

const N = 500;
const PUT = 'PUT /customers/v2/Customer/:id';

describe('CLI sync killed with SIGKILL mid-run, then run again with the same ids', () => {
  const children: ChildProcess[] = [];
  const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-sync-kill-'));
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it(`each of ${N} customers is written once; OpenAI is paid again only for calls in flight at the kill`, async () => {
    const emu = await startEmulatorProcess(cwd, N);
    children.push(emu.child);
    const ids = path.join(cwd, 'ids.txt');
    writeFileSync(ids, Array.from({ length: N }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`).join('\n'));
    const env = { ...emu.env, IPAAS_OPENAI_DB: path.join(cwd, 'kill.db') };
    const CONCURRENCY = 16;
    const puts = async () => (await emu.counters<{ byRoute: Record<string, number> }>('iPaaS.com')).byRoute[PUT] ?? 0;

    const first = spawnCli(['sync', '--file', ids, '--concurrency', String(CONCURRENCY)], { cwd, env });
    children.push(first);
    first.stdout!.resume();
    first.stderr!.resume();
    await waitFor(async () => (await puts()) >= 120, 60_000, 'a quarter of the writes');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('close', r));
    const putsAtKill = await puts();
    expect(putsAtKill).toBeLessThan(N);

    const second = await runCli(['sync', '--file', ids, '--concurrency', String(CONCURRENCY)], { cwd, env, timeoutMs: 120_000 });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`${N} synced, 0 failed, 0 skipped`);
    expect(second.stdout).toContain('Continued the interrupted run of these customers');

    // One write per customer across both runs: the rerun resumed, it did not start over.
    expect(await puts()).toBe(N);
    const openai = await emu.counters<{ completions: number }>('OpenAI');
    expect(openai.completions).toBeGreaterThanOrEqual(N);
    expect(openai.completions).toBeLessThanOrEqual(N + CONCURRENCY);
  }, 180_000);
});
