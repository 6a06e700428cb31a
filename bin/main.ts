/**
 * The composition root: the product's commands (src/cli) plus the demo and
 * the emulators, which product code never imports.
 */
import { InvalidArgumentError } from 'commander';
import { demoCommand } from '../demo/run-demo.js';
import { emulateCommand } from '../emulators/emulate-command.js';
import { processIO } from '../src/cli/io.js';
import { buildProgram, run, UsageExit } from '../src/cli/program.js';

const io = processIO();
const program = buildProgram(io);
const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

program
  .command('demo')
  .description('Everything on embedded defaults: emulators for any side without real keys, sample customers, a manual sync, the result')
  .option('-c, --config <file>', 'config file')
  .option('--keep', 'keep the emulators running afterwards')
  .option('--fresh', 'start with an empty database although the one that held the earlier syncs is missing or replaced')
  .action(async (o) => {
    process.exitCode = await run(io, () => demoCommand({ config: o.config, keep: !!o.keep, fresh: !!o.fresh }, io));
  });

program
  .command('emulate')
  .description('Run the iPaaS.com and/or OpenAI emulator standalone (loopback by default)')
  .argument('[which]', 'ipaas | openai | all', 'all')
  .option('--host <host>', 'address to bind', '127.0.0.1')
  .option('-p, --port <port>', 'port (with "all": iPaaS.com on it, OpenAI on the next)', int)
  .option('--rpm <n>', 'OpenAI requests per minute limit', int)
  .option('--tpm <n>', 'OpenAI tokens per minute limit', int)
  .option('--latency-ms <n>', 'OpenAI answer latency', int)
  .option('--customers <n>', 'add N synthetic customers to the iPaaS.com emulator', int)
  .option('--batch-speed <speed>', 'Batch API pacing: real (default) or fast (batches end in about a second)')
  .action(async (which: string, o) => {
    if (!['ipaas', 'openai', 'all'].includes(which)) program.error(`emulate: unknown emulator "${which}" (use ipaas, openai or all)`);
    process.exitCode = await run(io, () =>
      emulateCommand({ which: which as 'ipaas' | 'openai' | 'all', host: o.host, port: o.port, rpm: o.rpm, tpm: o.tpm, latencyMs: o.latencyMs, customers: o.customers, batchSpeed: o.batchSpeed }, io),
    );
  });

try {
  // No command at all: the help, and success (a person asked what there is).
  if (process.argv.length <= 2) program.help();
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof UsageExit)) throw err;
  process.exitCode = err.exitCode;
}
