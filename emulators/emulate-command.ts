import { InvalidArgumentError, type Command } from 'commander';
import type { CommandIO } from '../src/cli/io.js';
import { isHttpUrl } from './openai/webhook-config.js';
import { webhookSecretProblem } from './openai/webhook-signing.js';
import { SAMPLE_CUSTOMERS, type SampleCustomer } from './sample-customers.js';
import { SAMPLE_PRODUCTS, type SampleProduct } from './sample-products.js';

export interface EmulateOptions {
  which: 'ipaas' | 'openai' | 'all';
  host?: string | undefined;
  port?: number | undefined;
  /** OpenAI emulator knobs. */
  rpm?: number | undefined;
  tpm?: number | undefined;
  latencyMs?: number | undefined;
  /** Latency of OpenAI completions sent with service_tier 'flex' (instead of latencyMs). */
  flexLatencyMs?: number | undefined;
  /** OpenAI webhooks: batch events are POSTed here, signed with webhookSecret (both or neither). */
  webhookUrl?: string | undefined;
  webhookSecret?: string | undefined;
  /** Synthetic customers added to the iPaaS.com emulator's samples (load tests, benchmarks). */
  customers?: number | undefined;
  /** Synthetic products added to the iPaaS.com emulator's sample products. */
  products?: number | undefined;
  /** Batch API timing: 'real' keeps OpenAI-like pacing, 'fast' finishes batches in about a second. */
  batchSpeed?: 'real' | 'fast' | undefined;
}

/** N synthetic customers with distinct numbers, names and emails. */
export function syntheticCustomers(n: number, prefix = 'LOAD'): SampleCustomer[] {
  return Array.from({ length: n }, (_, i) => ({
    customer_number: `${prefix}-${String(i).padStart(6, '0')}`,
    first_name: `First${i}`,
    last_name: `Last${i}`,
    email_address: `${prefix.toLowerCase()}${i}@example.com`,
    categories: ['Retail'],
  }));
}

/** N synthetic products with distinct SKUs, names and prices. */
export function syntheticProducts(n: number, prefix = 'LOAD-SKU'): SampleProduct[] {
  return Array.from({ length: n }, (_, i) => ({
    sku: `${prefix}-${String(i).padStart(6, '0')}`,
    name: `Product ${i}`,
    description: `Synthetic product number ${i}.`,
    default_price: (i % 500) + 0.99,
  }));
}

/** `ipaas-openai emulate ipaas|openai|all`: run the emulators standalone until Ctrl-C. */
export async function emulateCommand(options: EmulateOptions, io: CommandIO, until?: Promise<void>): Promise<number> {
  const ipaas = options.which !== 'openai';
  const openai = options.which !== 'ipaas';
  const both = ipaas && openai;
  // Loaded here, not at the top: every command of the binary imports this file, and the emulators
  // (the OpenAI one holds the o200k_base tokenizer, ~65 MB) must not weigh on serve or sync.
  const [{ BATCH_FAST }, { startEmulators }] = await Promise.all([import('./openai/index.js'), import('./start-emulators.js')]);
  const openaiKnobs = {
    ...(options.batchSpeed === 'fast' ? { batch: { ...BATCH_FAST } } : {}),
    ...(options.rpm ? { rpm: options.rpm } : {}),
    ...(options.tpm ? { tpm: options.tpm } : {}),
    ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}),
    ...(options.flexLatencyMs ? { flexLatencyMs: options.flexLatencyMs } : {}),
    ...(options.webhookUrl ? { webhook: { url: options.webhookUrl, secret: options.webhookSecret } } : {}),
  };
  const ipaasData = {
    ...(options.customers ? { customers: [...SAMPLE_CUSTOMERS, ...syntheticCustomers(options.customers)] } : {}),
    ...(options.products ? { products: [...SAMPLE_PRODUCTS, ...syntheticProducts(options.products)] } : {}),
  };
  const running = await startEmulators({
    // Synthetic records are for load: the largest page (100) keeps paging through them quick.
    ipaas: ipaas && (options.customers || options.products) ? { ...ipaasData, pageSize: 100 } : ipaas,
    openai: openai ? openaiKnobs : false,
    host: options.host,
    ...(options.port !== undefined && ipaas ? { ipaasPort: options.port } : {}),
    ...(options.port !== undefined && openai ? { openaiPort: both ? (options.port === 0 ? 0 : options.port + 1) : options.port } : {}),
  });
  io.out('Emulators running; point the connector at them with:');
  if (running.ipaas) io.out(`export IPAAS_BASE_URL=${running.ipaas.url} IPAAS_API_KEY=${running.ipaas.apiKey}`);
  if (running.openai) io.out(`export OPENAI_BASE_URL=${running.openai.url} OPENAI_API_KEY=${running.openai.apiKey}`);
  // For tests driving the standalone emulators (README "Emulators"). No '=' here: callers parse the exports as NAME=VALUE.
  if (running.ipaas) io.out(`Control API: ${running.ipaas.emulator.controlUrl} (iPaaS.com faults, counters; same key)`);
  if (running.openai) io.out(`Control API: ${running.openai.emulator.controlUrl} (OpenAI faults, counters, settings; same key)`);
  // The secret is the caller's own: not echoed.
  if (running.openai && options.webhookUrl) io.out(`OpenAI webhooks: batch events are POSTed to ${options.webhookUrl}, signed with the given --webhook-secret`);
  io.out('Ctrl-C stops them.');
  await (until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }));
  await running.close();
  return 0;
}

const wholeNumber = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};
const httpUrl = (v: string): string => {
  if (!isHttpUrl(v)) throw new InvalidArgumentError('must be an http(s) URL');
  return v;
};
const signingSecret = (v: string): string => {
  const problem = webhookSecretProblem(v);
  if (problem) throw new InvalidArgumentError(problem);
  return v;
};

/**
 * Declares `emulate` and its flags on the CLI (bin/main.ts); `start` runs it with the parsed options.
 * Flag mistakes are usage errors (one line, exit 2), never reported as a bug.
 */
export function addEmulateCommand(program: Command, start: (options: EmulateOptions) => Promise<void>): Command {
  const cmd = program
    .command('emulate')
    .description('Run the iPaaS.com and/or OpenAI emulator standalone (loopback by default)')
    .argument('[which]', 'ipaas | openai | all', 'all')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('-p, --port <port>', 'port (with "all": iPaaS.com on it, OpenAI on the next)', wholeNumber)
    .option('--rpm <n>', 'OpenAI requests per minute limit', wholeNumber)
    .option('--tpm <n>', 'OpenAI tokens per minute limit', wholeNumber)
    .option('--latency-ms <n>', 'OpenAI answer latency', wholeNumber)
    .option('--flex-latency-ms <n>', 'OpenAI answer latency for service_tier "flex" requests', wholeNumber)
    .option('--webhook-url <url>', 'OpenAI webhooks: POST batch events (batch.completed, ...) to this URL', httpUrl)
    .option('--webhook-secret <whsec_...>', 'OpenAI webhooks: the signing secret (needed with --webhook-url)', signingSecret)
    .option('--customers <n>', 'add N synthetic customers to the iPaaS.com emulator', wholeNumber)
    .option('--products <n>', 'add N synthetic products to the iPaaS.com emulator', wholeNumber)
    .option('--batch-speed <speed>', 'Batch API pacing: real (default) or fast (batches end in about a second)');
  return cmd.action(async (which: string, o) => {
    if (!['ipaas', 'openai', 'all'].includes(which)) cmd.error(`emulate: unknown emulator "${which}" (use ipaas, openai or all)`);
    if (Boolean(o.webhookUrl) !== Boolean(o.webhookSecret)) {
      cmd.error('emulate: --webhook-url and --webhook-secret go together (the secret signs what is sent to the URL)');
    }
    await start({
      which: which as EmulateOptions['which'],
      host: o.host,
      port: o.port,
      rpm: o.rpm,
      tpm: o.tpm,
      latencyMs: o.latencyMs,
      flexLatencyMs: o.flexLatencyMs,
      webhookUrl: o.webhookUrl,
      webhookSecret: o.webhookSecret,
      customers: o.customers,
      products: o.products,
      batchSpeed: o.batchSpeed,
    });
  });
}
