/** `ipaas-openai emulate`'s output: the export lines stay as they were, then one control API line per emulator. */
import { describe, expect, it } from 'vitest';
import { emulateCommand } from './emulate-command.js';

async function runEmulate(which: 'ipaas' | 'openai' | 'all', use: (lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const io = { env: {}, cwd: process.cwd(), out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
  const done = emulateCommand({ which, port: 0 }, io, until);
  const deadline = Date.now() + 10_000;
  while (!lines.includes('Ctrl-C stops them.')) {
    if (Date.now() > deadline) throw new Error(`emulate printed: ${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  try {
    await use(lines);
  } finally {
    stop();
    expect(await done).toBe(0);
  }
}

describe('ipaas-openai emulate output', () => {
  it('prints the exports unchanged, then each control URL; the URLs answer with the exported keys', async () => {
    await runEmulate('all', async (lines) => {
      expect(lines[0]).toBe('Emulators running; point the connector at them with:');
      expect(lines[1]).toMatch(/^export IPAAS_BASE_URL=http:\/\/127\.0\.0\.1:\d+ IPAAS_API_KEY=ipaas-emulator-key$/);
      expect(lines[2]).toMatch(/^export OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/v1 OPENAI_API_KEY=sk-emulator-key$/);
      expect(lines[3]).toMatch(/^Control API: http:\/\/127\.0\.0\.1:\d+\/__emulator\/ \(iPaaS\.com faults, counters; same key\)$/);
      expect(lines[4]).toMatch(/^Control API: http:\/\/127\.0\.0\.1:\d+\/__emulator\/ \(OpenAI faults, counters, settings; same key\)$/);
      expect(lines[5]).toBe('Ctrl-C stops them.');

      // what other tests do with the output: NAME=VALUE pairs (the control lines add none)
      const env = Object.fromEntries([...lines.join('\n').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
      expect(Object.keys(env)).toEqual(['IPAAS_BASE_URL', 'IPAAS_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_API_KEY']);

      const [ipaasControl, openaiControl] = lines.slice(3, 5).map((l) => /^Control API: (\S+)/.exec(l)![1]!);
      expect(new URL(ipaasControl!).port).toBe(new URL(env.IPAAS_BASE_URL!).port);
      expect(new URL(openaiControl!).port).toBe(new URL(env.OPENAI_BASE_URL!).port);

      const get = (url: string, key: string) => fetch(url, { headers: { authorization: `Bearer ${key}` } });
      const fault = await fetch(`${ipaasControl}faults`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.IPAAS_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ status: 503, retryAfterSeconds: 3 }),
      });
      expect(fault.status).toBe(201);
      const hit = await get(`${env.IPAAS_BASE_URL}/customers/v2/Customer/1`, env.IPAAS_API_KEY!);
      expect(hit.status).toBe(503);
      expect(hit.headers.get('retry-after')).toBe('3');
      expect(await (await get(`${ipaasControl}counters`, env.IPAAS_API_KEY!)).json()).toMatchObject({ requests: 1, byStatus: { '503': 1 } });
      expect(await (await get(`${openaiControl}counters`, env.OPENAI_API_KEY!)).json()).toMatchObject({ requests: 0 });
      // each control API takes its own emulator's key only
      expect((await get(`${openaiControl}counters`, env.IPAAS_API_KEY!)).status).toBe(401);
    });
  });

  it('a single emulator prints a single control line', async () => {
    await runEmulate('openai', async (lines) => {
      expect(lines.filter((l) => l.startsWith('Control API: '))).toHaveLength(1);
      expect(lines.some((l) => l.includes('(OpenAI faults, counters, settings; same key)'))).toBe(true);
    });
  });
});
