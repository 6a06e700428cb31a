/**
 * The composition root: the product's commands (src/cli) plus the demo and
 * the emulators, which product code never imports.
 */
import { addEmulateCommand, emulateCommand } from '../emulators/emulate-command.js';
import { processIO } from '../src/cli/io.js';
import { buildProgram, run, UsageExit } from '../src/cli/program.js';

const io = processIO();
const program = buildProgram(io);
program
  .command('demo')
  .description('Everything on embedded defaults: emulators for any side without real keys, sample customers, a manual sync, the result')
  .option('-c, --config <file>', 'config file')
  .option('--keep', 'keep the emulators running afterwards')
  .option('--fresh', 'start with an empty database although the one that held the earlier syncs is missing or replaced')
  .action(async (o) => {
    // Imported when asked for: the demo pulls in the emulators, which other commands must not carry.
    const { demoCommand } = await import('../demo/run-demo.js');
    process.exitCode = await run(io, () => demoCommand({ config: o.config, keep: !!o.keep, fresh: !!o.fresh }, io));
  });

addEmulateCommand(program, async (options) => {
  process.exitCode = await run(io, () => emulateCommand(options, io));
});

try {
  // No command at all: the help, and success (a person asked what there is).
  if (process.argv.length <= 2) program.help();
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof UsageExit)) throw err;
  process.exitCode = err.exitCode;
}
