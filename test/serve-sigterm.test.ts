import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCliProcess as start } from './helpers/processes.js';
import { waitFor } from './helpers/service-harness.js';

const ADMIN = 'admin-sigterm-token-0123456789';
const N = 24;

describe('serve stopped by SIGTERM while OpenAI calls hang (D4, standalone processes)', () => {
  const children: ChildProcess[] = [];
  const cwd = mkdtempSync(path.join(tmpdir(), 'ipaas-openai-sigterm-'));
  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(cwd, { recursive: true, force: true });
  });

  it('exits within 15 s, aborts the calls in flight and sends nothing after them', async () => {
    const emu = await start(['emulate', 'all', '--port', '0', '--customers', String(N)], {}, cwd, /Control API: \S+ \(OpenAI/);
    children.push(emu.child);
    const env = Object.fromEntries([...emu.out().matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const control = /Control API: (\S+) \(OpenAI/.exec(emu.out())![1]!;
    const key = { authorization: `Bearer ${env.OPENAI_API_KEY}`, 'content-type': 'application/json' };
    const counters = async () => (await fetch(`${control}counters`, { headers: key }).then((r) => r.json())) as { hung: number; aborted: number; byPath: Record<string, number> };
    const fault = await fetch(`${control}faults`, { method: 'POST', headers: key, body: JSON.stringify({ kind: 'hang', times: 100_000 }) });
    expect(fault.status).toBe(201);

    const serve = await start(['serve', '--port', '0'], { ...env, IPAAS_OPENAI_DB: path.join(cwd, 'sigterm.db'), IPAAS_OPENAI_ADMIN_TOKEN: ADMIN }, cwd, /serving on http:\/\/\S+/);
    children.push(serve.child);
    const url = /serving on (http:\/\/\S+)/.exec(serve.out())![1]!;
    const numbers = Array.from({ length: N }, (_, i) => `LOAD-${String(i).padStart(6, '0')}`);
    const r = await fetch(`${url}/api/sync`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ customerNumbers: numbers }) });
    expect(r.status).toBe(202);
    await waitFor(async () => (await counters()).hung >= 16, 20_000, '16 OpenAI calls hanging');

    const exited = new Promise<{ code: number | null; ms: number }>((resolve) => {
      const t0 = Date.now();
      serve.child.on('exit', (code) => resolve({ code, ms: Date.now() - t0 }));
    });
    serve.child.kill('SIGTERM');
    const { code, ms } = await exited;
    expect(code).toBe(0);
    expect(ms).toBeLessThan(15_000);
    await waitFor(async () => (await counters()).aborted >= 16, 5_000, 'the hung calls to be aborted');
    const after = await counters();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await counters()).byPath['/v1/responses']).toBe(after.byPath['/v1/responses']);
    expect(after.byPath['/v1/responses']).toBe(after.hung); // every call sent hung; none was retried by the SDK
    expect(serve.out()).toMatch(/Stopped: 0 finished, \d+ handed back to the queue\./);
  }, 60_000);
});
