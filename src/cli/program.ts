import { Command, InvalidArgumentError, Option } from 'commander';
import { configJsonSchema } from '../config/load-config.js';
import { ENTITY_NAMES } from '../ipaas/entities.js';
import { describeError } from '../shared/errors.js';
import { versionLine } from '../shared/version.js';
import { logsCommand } from './commands/logs.js';
import { previewCommand } from './commands/preview.js';
import { purgeCommand } from './commands/purge.js';
import { retryCommand } from './commands/retry.js';
import { serveCommand } from './commands/serve.js';
import { syncAllCommand } from './commands/sync-all.js';
import { syncCommand } from './commands/sync.js';
import { tryCommand } from './commands/try.js';
import { reviewCommand } from './commands/review.js';
import { validateCommand } from './commands/validate.js';
import { processIO, type CommandIO } from './io.js';

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/** The option that accepts a lost SQLite database (see store/sqlite/work-marker.ts). */
const FRESH = 'start with an empty database although the one that held acknowledged work is missing or replaced (its marker says so); once, knowingly';

/** Thrown by commander (after it printed help, the version or a usage error) to end parsing with this code. */
export class UsageExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Runs a command and turns its outcome (or error) into an exit code: the only place that does. */
export async function run(io: CommandIO, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    const e = describeError(err);
    io.err(`error: ${e.message}`);
    if (e.fix) io.err(`Fix: ${e.fix}`);
    return 2;
  }
}

/** The product's commands; the composition root (bin/main.ts) adds demo and emulate. */
export function buildProgram(io: CommandIO = processIO(), setExit: (code: number) => void = (c) => (process.exitCode = c)): Command {
  const program = new Command('ipaas-openai')
    .description('Keeps iPaaS.com customer records enriched by OpenAI.')
    .version(versionLine(), '-V, --version', 'print the version and the Node.js it runs on')
    // A usage error is one line and a pointer to the help, and exits 2 (the command could not run).
    .showHelpAfterError('(`ipaas-openai --help` lists the commands; `ipaas-openai <command> --help` their options)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride((err) => {
      const asked = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      setExit(asked ? 0 : 2);
      throw new UsageExit(asked ? 0 : 2);
    });
  const common = (c: Command) =>
    c.option('-c, --config <file>', 'config file (YAML or JSON); default ./ipaas-openai.yaml or $IPAAS_OPENAI_CONFIG').option('--json', 'machine-readable output');
  const act = (fn: () => Promise<number>) => run(io, fn).then(setExit);
  // The data model a command works on: customers (the default) or products.
  const withEntity = (c: Command) =>
    c.addOption(new Option('--entity <model>', 'the iPaaS.com data model: customer (by CustomerNumber) or product (by SKU)').choices([...ENTITY_NAMES]).default('customer'));

  common(withEntity(
    program
      .command('sync')
      .description('Manual sync: send customers (or products, --entity product) through OpenAI and write the answers back (up to 3,000)')
      .argument('[CustomerNumber...]', 'CustomerNumbers, e.g. CUST-10045 (SKUs with --entity product)')
      .option('--id', 'the arguments are iPaaS.com customer ids, not CustomerNumbers')
      .option('-f, --file <file>', 'read ids from a file (one per line or comma-separated)')
      .option('--concurrency <n>', 'parallel records', positiveInt)
      .option('--debug', 'mark the run as Debug: ahead in the queue, its steps logged at debug level (the request itself is in the sync log: logs --attempt)')
      .option('--all', 'backfill every customer: estimate first, then a live progress bar; resumable')
      .option('--since <date>', 'with --all: only customers updated since this date')
      .option('--filter <Field=value>', 'with --all: iPaaS.com filter (CustomerNumber, EmailAddress, FirstName, LastName, Company); repeatable', (v: string, prev: string[] = []) => [...prev, v])
      .option('--where <formula>', 'with --all: only customers for which this formula is true, e.g. "IsEmpty(Comment)"')
      .option('--batch', "with --all: use OpenAI's Batch API (half the price, results within 24 h)")
      .addOption(new Option('--tier <tier>', "with --all: OpenAI's service tier for the direct calls; flex = Batch prices, slower answers (openai.flexFallback says what happens when flex has no capacity)").choices(['default', 'flex']))
      .option('--force', 'with --all: also re-send customers whose mapped fields did not change since their last sync')
      .option('-y, --yes', 'with --all: do not ask for confirmation')
      .option('--fresh', FRESH),
  )).action((ids: string[], o) => {
    if (o.all) {
      if (ids.length || o.file || o.id) return act(async () => {
        io.err('error: --all takes no CustomerNumbers, --id or --file.');
        return 2;
      });
      const abort = new AbortController();
      // The first Ctrl-C stops the run gently (the command says so, in its progress bar when it has one);
      // a second quits at once, showing the cursor the bar hid.
      const onSignal = () => {
        if (abort.signal.aborted) {
          if (process.stdout.isTTY) process.stdout.write('\x1b[?25h\n');
          process.exit(130);
        }
        abort.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      return act(() =>
        syncAllCommand(
          { since: o.since, filter: o.filter, where: o.where, batch: !!o.batch, tier: o.tier, yes: !!o.yes, force: !!o.force, concurrency: o.concurrency, fresh: !!o.fresh, entity: o.entity, config: o.config, json: o.json, interactive: !!process.stdin.isTTY, tty: !!process.stdout.isTTY, signal: abort.signal },
          io,
        ),
      ).finally(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
    }
    return act(() => syncCommand({ ids, byId: !!o.id, file: o.file, concurrency: o.concurrency, debug: !!o.debug, fresh: !!o.fresh, entity: o.entity, config: o.config, json: o.json }, io));
  });

  common(withEntity(
    program
      .command('try')
      .description('Prompt lab: the active PromptText, and a candidate, on the same customers with real OpenAI calls; nothing is written to iPaaS.com')
      .argument('[CustomerNumber...]', 'customers to try it on (default: a random sample)')
      .option('--sample <n>', 'how many customers to draw at random (default 5)', positiveInt)
      .option('--prompt-file <file>', 'a candidate PromptText to compare with the active one')
      .option('-y, --yes', 'do not ask for confirmation'),
  )).action((numbers: string[], o) => {
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    return act(() =>
      tryCommand({ numbers, sample: o.sample, promptFile: o.promptFile, yes: !!o.yes, interactive: !!process.stdin.isTTY, entity: o.entity, config: o.config, json: o.json }, io, abort.signal),
    ).finally(() => process.off('SIGINT', onSignal));
  });

  const review = program.command('review').description('Answers waiting for a person before anything is written (sync.review: required)');
  // Job ids are whole numbers; anything else is a usage error (exit 2) naming the value.
  const withJobIds = (ids: string[], run: (jobIds: number[]) => Promise<number>) =>
    act(async () => {
      const bad = ids.find((id) => !/^[1-9]\d*$/.test(id));
      if (bad === undefined) return run(ids.map(Number));
      io.err(`error: "${bad}" is not a job id (a whole number, as \`ipaas-openai review list\` shows them).`);
      return 2;
    });
  common(review.command('list').description('The waiting answers: each field they would change, before -> after')).action((o) =>
    act(() => reviewCommand({ action: 'list', jobIds: [], config: o.config, json: o.json }, io)),
  );
  common(
    review
      .command('approve')
      .description('Approve answers: they are written now, in this process, without a new OpenAI call')
      .argument('[jobId...]')
      .option('--all', 'every waiting answer')
      .option('--by <name>', 'who approves (default: your user name)'),
  ).action((ids: string[], o) => {
    if (!ids.length && !o.all) {
      return act(async () => {
        io.err('error: name the job ids to approve, or --all. (`ipaas-openai review approve --help`)');
        return 2;
      });
    }
    return withJobIds(ids, (jobIds) => reviewCommand({ action: 'approve', jobIds, all: !!o.all, by: o.by, config: o.config, json: o.json }, io));
  });
  common(
    review
      .command('reject')
      .description('Reject answers: nothing is written; the record is logged as skipped with the reason')
      .argument('<jobId...>')
      .requiredOption('--reason <text>', 'why (kept in the sync log)')
      .option('--by <name>', 'who rejects (default: your user name)'),
  ).action((ids: string[], o) => withJobIds(ids, (jobIds) => reviewCommand({ action: 'reject', jobIds, reason: o.reason, by: o.by, config: o.config, json: o.json }, io)));

  common(withEntity(
    program
      .command('preview')
      .description('Dry run for one customer (or product): the exact OpenAI request, estimated tokens and cost; nothing sent or written')
      .argument('<CustomerNumber>', 'a CustomerNumber (a SKU with --entity product)')
      .option('--id', 'the argument is an iPaaS.com id'),
  )).action((id: string, o) => act(() => previewCommand({ id, byId: !!o.id, entity: o.entity, config: o.config, json: o.json }, io)));

  common(withEntity(program.command('validate').description("The seed's validation checklist, live: each item pass/fail with the fix"))).action((o) =>
    act(() => validateCommand({ entity: o.entity, config: o.config, json: o.json }, io)),
  );

  common(
    program
      .command('logs')
      .description('Sync log: what was sent, what came back, tokens, cost, outcome')
      .argument('[CustomerNumber]')
      .addOption(new Option('--outcome <outcome>', 'only this outcome').choices(['synced', 'failed', 'skipped']))
      .option('-n, --limit <n>', 'how many', positiveInt, 20)
      .option('--attempt <id>', 'show one attempt whole (request, response, fields written, prompt version)', positiveInt)
      .option('--trials', "the prompt lab's trial calls (`ipaas-openai try`) instead of syncs")
      .option('--messages', 'the webhooks OpenAI sent (Message records: batch.completed, …) and what was done with each'),
  ).action((customerNumber: string | undefined, o) =>
    act(() => logsCommand({ customerNumber, outcome: o.outcome, limit: o.limit, attempt: o.attempt, trials: !!o.trials, messages: !!o.messages, config: o.config, json: o.json }, io)),
  );

  common(
    program
      .command('serve')
      .description('Run the service: iPaaS.com webhooks, the manual-sync API and the workers (durable queue)')
      .option('--host <host>', 'address to bind (default from config: 127.0.0.1)')
      .option('-p, --port <port>', 'port (default from config: 8080)', (v) => Number(v))
      .option('--concurrency <n>', 'records in flight at once', positiveInt)
      .option('--no-workers', 'take webhooks and API calls only; another process runs the queue')
      .option('--fresh', FRESH),
  ).action((o) => act(() => serveCommand({ host: o.host, port: o.port, concurrency: o.concurrency, workers: o.workers, fresh: !!o.fresh, config: o.config, json: o.json }, io)));

  common(
    program
      .command('retry')
      .description('Re-run failed (dead-lettered) records: back into the queue, a stored answer is reused')
      .option('--job <ids...>', 'only these job ids', (v: string, prev: number[] = []) => [...prev, positiveInt(v)])
      .option('--run', 'run them now in this process instead of leaving them to `serve`')
      .option('--fresh', FRESH),
  ).action((o) => act(() => retryCommand({ jobIds: o.job, run: !!o.run, fresh: !!o.fresh, config: o.config, json: o.json }, io)));

  common(
    program
      .command('purge')
      .description('Erase stored customer data: request/response bodies older than an age (log.retainDays by default; serve does this daily), or every trace of one customer')
      .option('--older-than <age>', 'bodies of attempts finished longer ago than this, e.g. 30d or 12h (default: log.retainDays, unless only --customer is given)')
      .option('--customer <CustomerNumber>', "erase every trace of this customer (by its CustomerNumber and the iPaaS.com ids the database knows for it); its attempts stay as anonymous cost rows")
      .option('-y, --yes', 'do not ask for confirmation'),
  ).action((o) => act(() => purgeCommand({ olderThan: o.olderThan, customer: o.customer, yes: !!o.yes, interactive: !!process.stdin.isTTY, config: o.config, json: o.json }, io)));

  program
    .command('config-schema')
    .description('Print the JSON schema of the config file (for editor completion)')
    .action(() => act(async () => (io.out(JSON.stringify(configJsonSchema(), null, 2)), 0)));

  return program;
}
