import type { CommandIO } from '../src/cli/io.js';
import { BATCH_FAST } from './openai/index.js';
import { SAMPLE_CUSTOMERS, type SampleCustomer } from './sample-customers.js';
import { startEmulators } from './start-emulators.js';

export interface EmulateOptions {
  which: 'ipaas' | 'openai' | 'all';
  host?: string | undefined;
  port?: number | undefined;
  /** OpenAI emulator knobs. */
  rpm?: number | undefined;
  tpm?: number | undefined;
  latencyMs?: number | undefined;
  /** Synthetic customers added to the iPaaS.com emulator's samples (load tests, benchmarks). */
  customers?: number | undefined;
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

/** `ipaas-openai emulate ipaas|openai|all`: run the emulators standalone until Ctrl-C. */
export async function emulateCommand(options: EmulateOptions, io: CommandIO, until?: Promise<void>): Promise<number> {
  const ipaas = options.which !== 'openai';
  const openai = options.which !== 'ipaas';
  const both = ipaas && openai;
  const openaiKnobs = {
    ...(options.batchSpeed === 'fast' ? { batch: { ...BATCH_FAST } } : {}),
    ...(options.rpm ? { rpm: options.rpm } : {}),
    ...(options.tpm ? { tpm: options.tpm } : {}),
    ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}),
  };
  const running = await startEmulators({
    ipaas: ipaas && options.customers ? { customers: [...SAMPLE_CUSTOMERS, ...syntheticCustomers(options.customers)], pageSize: 100 } : ipaas,
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
  io.out('Ctrl-C stops them.');
  await (until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }));
  await running.close();
  return 0;
}
