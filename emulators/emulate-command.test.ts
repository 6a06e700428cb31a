/**
 * `ipaas-openai emulate`: its output (the export lines stay as they were, then one control API line per
 * emulator), its flags as the CLI parses them, and what the product, flex and webhook flags set up.
 */
import { Command } from 'commander';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { addEmulateCommand, emulateCommand, type EmulateOptions } from './emulate-command.js';
import { newWebhookSecret, type WebhookEvent } from './openai/index.js';
import { startWebhookReceiver } from './webhook-receiver.js';

async function runEmulate(
  which: 'ipaas' | 'openai' | 'all',
  use: (lines: string[]) => Promise<void>,
  extra: Omit<EmulateOptions, 'which'> = {},
): Promise<void> {
  const lines: string[] = [];
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const io = { env: {}, cwd: process.cwd(), out: (l: string) => lines.push(l), err: (l: string) => lines.push(`ERR ${l}`) };
  const done = emulateCommand({ which, port: 0, ...extra }, io, until);
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

/** Parses an `emulate` command line the way bin/main.ts does; returns the options or the usage error. */
async function parse(args: string[]): Promise<{ options?: EmulateOptions; error?: string }> {
  const errors: string[] = [];
  let options: EmulateOptions | undefined;
  const program = new Command('ipaas-openai')
    .exitOverride()
    .configureOutput({ writeErr: (s) => errors.push(s.trim()), writeOut: () => undefined });
  addEmulateCommand(program, async (o) => {
    options = o;
  });
  try {
    await program.parseAsync(['node', 'ipaas-openai', 'emulate', ...args]);
  } catch {
    return { error: errors.join('\n') };
  }
  return options ? { options } : { error: errors.join('\n') };
}

describe('emulate flags', () => {
  const secret = newWebhookSecret();

  it('parses the product, flex and webhook flags beside the old ones', async () => {
    const { options } = await parse([
      'openai', '--port', '0', '--latency-ms', '5', '--flex-latency-ms', '250', '--products', '3', '--customers', '2',
      '--webhook-url', 'http://127.0.0.1:9/hooks', '--webhook-secret', secret, '--batch-speed', 'fast',
    ]);
    expect(options).toEqual({
      which: 'openai', host: '127.0.0.1', port: 0, rpm: undefined, tpm: undefined, latencyMs: 5, flexLatencyMs: 250,
      webhookUrl: 'http://127.0.0.1:9/hooks', webhookSecret: secret, customers: 2, products: 3, batchSpeed: 'fast',
    });
    expect((await parse([])).options?.which).toBe('all');
  });

  it.each([
    [['--products', 'many'], /--products <n>' argument 'many' is invalid\. must be a whole number/],
    [['--webhook-url', 'ftp://x', '--webhook-secret', secret], /must be an http\(s\) URL/],
    [['--webhook-url', 'http://127.0.0.1:9/h', '--webhook-secret', 'sk-nope'], /the secret must start with 'whsec_'/],
    [['--webhook-url', 'http://127.0.0.1:9/h'], /--webhook-url and --webhook-secret go together/],
    [['--webhook-secret', secret], /--webhook-url and --webhook-secret go together/],
    [['everything'], /unknown emulator "everything"/],
  ])('%j is a usage error', async (args, message) => {
    const r = await parse(args);
    expect(r.options).toBeUndefined();
    expect(r.error).toMatch(message);
  });

  it('--products adds synthetic products after the samples; flex latency and the webhook reach the OpenAI emulator', async () => {
    const rx = await startWebhookReceiver<WebhookEvent>(undefined, '/hooks');
    try {
      await runEmulate(
        'all',
        async (lines) => {
          expect(lines).toContain(`OpenAI webhooks: batch events are POSTed to ${rx.url}, signed with the given --webhook-secret`);
          expect(lines.join('\n')).not.toContain(secret);
          const env = Object.fromEntries([...lines.join('\n').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
          const ipaasAuth = { authorization: `Bearer ${env.IPAAS_API_KEY}` };
          const page = await fetch(`${env.IPAAS_BASE_URL}/products/v2/Products?pageSize=100`, { headers: ipaasAuth });
          expect(JSON.parse(page.headers.get('x-pagination') ?? '')).toMatchObject({ total_Count: 7, page_Size: 100 });
          const products = (await page.json()) as { sku: string | null }[];
          expect(products.map((p) => p.sku)).toEqual(['PROD-SKU-12345', 'PROD-SKU-12346', 'PROD-SKU-12347', null, 'LOAD-SKU-000000', 'LOAD-SKU-000001', 'LOAD-SKU-000002']);

          const openaiControl = new URL('/__emulator/', env.OPENAI_BASE_URL!).toString();
          const auth = { authorization: `Bearer ${env.OPENAI_API_KEY}` };
          const settings = (await (await fetch(`${openaiControl}settings`, { headers: auth })).json()) as Record<string, unknown>;
          expect(settings).toMatchObject({ flexLatencyMs: 120, webhook: { url: rx.url, secretSet: true } });
          const sent = await fetch(`${openaiControl}webhooks/send`, { method: 'POST', headers: auth });
          expect(sent.status).toBe(201);
          const [d] = await rx.waitFor(1);
          const event = await new OpenAI({ apiKey: 'x', webhookSecret: secret }).webhooks.unwrap(d!.rawBody, d!.headers as Record<string, string>);
          expect(event.type).toBe('batch.completed');
        },
        { products: 3, flexLatencyMs: 120, webhookUrl: rx.url, webhookSecret: secret },
      );
    } finally {
      await rx.close();
    }
  });
});
