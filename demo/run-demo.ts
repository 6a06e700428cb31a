import { startEmulators } from '../emulators/start-emulators.js';
import { SAMPLE_CUSTOMERS } from '../emulators/sample-customers.js';
import { describeResult, describeSummary } from '../src/cli/commands/sync.js';
import type { CommandIO } from '../src/cli/io.js';
import { ENV, loadConfig, type LoadedConfig } from '../src/config/load-config.js';
import { startService, type RunningService } from '../src/server/service.js';
import type { Logger } from '../src/shared/logger.js';
import { openConnector, rateLimiterFor } from '../src/app/connector.js';
import type { RecordRef } from '../src/pipeline/load-record.js';
import { CUSTOMER } from '../src/ipaas/entities.js';
import { runSync } from '../src/triggers/manual-sync.js';

export interface DemoOptions {
  config?: string | undefined;
  /** Keep the emulators and the dashboard running after the sync (Ctrl-C stops them). */
  keep?: boolean;
  /** Someone is watching (default: stdout is a terminal): keep running as with `keep`. */
  interactive?: boolean;
  /** Start afresh where the database that held acknowledged work vanished (--fresh). */
  fresh?: boolean;
}

/** The configured port (8080 unless PORT says otherwise), or any free one when it is taken. */
async function startDashboard(loaded: LoadedConfig, logger: Logger): Promise<RunningService> {
  const onLoopback: LoadedConfig = { ...loaded, config: { ...loaded.config, server: { ...loaded.config.server, host: '127.0.0.1' } } };
  try {
    return await startService(onLoopback, { logger });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    return startService({ ...onLoopback, config: { ...onLoopback.config, server: { ...onLoopback.config.server, port: 0 } } }, { logger });
  }
}

/**
 * The main job on embedded defaults: SQLite in ./data, the built-in emulators
 * for whichever side has no real key, the sample customers, a manual sync,
 * and CUST-10045 read back from iPaaS.com.
 */
export async function demoCommand(options: DemoOptions, io: CommandIO): Promise<number> {
  const realIpaas = !!(io.env[ENV.ipaasApiKey] || io.env[ENV.ipaasEmail]);
  const realOpenAI = !!io.env[ENV.openaiApiKey];
  const emulators = await startEmulators({ ipaas: !realIpaas, openai: !realOpenAI });
  try {
    const overrides: Record<string, unknown> = {
      log: { path: 'data/ipaas-openai.log' },
      ...(emulators.ipaas ? { ipaas: { baseUrl: emulators.ipaas.url, apiKey: emulators.ipaas.apiKey } } : {}),
      ...(emulators.openai ? { openai: { baseUrl: emulators.openai.url, apiKey: emulators.openai.apiKey } } : {}),
    };
    const loaded = loadConfig({ path: options.config, env: io.env, cwd: io.cwd, overrides });
    io.out('ipaas-openai demo');
    io.out(`  iPaaS.com: ${emulators.ipaas ? `built-in emulator at ${emulators.ipaas.url} (no IPAAS_API_KEY set)` : loaded.config.ipaas.baseUrl}`);
    io.out(`  OpenAI:    ${emulators.openai ? `built-in emulator at ${emulators.openai.url} (no OPENAI_API_KEY set)` : loaded.config.openai.baseUrl}, model ${loaded.config.openai.model}, ${loaded.config.openai.api} API`);
    io.out('');

    const connector = await openConnector(loaded, { limiter: rateLimiterFor(loaded.config, loaded.config.sync.concurrency), fresh: !!options.fresh });
    if (connector.store.notice) io.err(`warning: ${connector.store.notice}`);
    try {
      let refs: RecordRef[];
      if (emulators.ipaas) {
        refs = emulators.ipaas.emulator.listCustomers().map((c) => (c.customer_number ? { customerNumber: c.customer_number } : { id: String(c.id) }));
        io.out(`Manual sync of ${refs.length} sample customers (${SAMPLE_CUSTOMERS.filter((c) => !c.customer_number).length} without a CustomerNumber, to show the failure path):`);
      } else {
        const first = await connector.ipaas.listRecords(CUSTOMER, 1, { pageSize: 5 });
        refs = first.records.map((c) => (c.number ? { customerNumber: c.number } : { id: c.id }));
        io.out(`Manual sync of the first ${refs.length} customers of the iPaaS.com account:`);
      }
      const summary = await runSync(connector, refs, { trigger: { source: 'demo' }, event: 'Manual', onResult: (r) => io.out(`  ${describeResult(r).replace(/\n/g, '\n  ')}`) });
      io.out('');
      for (const l of describeSummary(summary, connector.store.location)) io.out(l);

      const showcase = summary.results.find((r) => r.attempt.customerNumber === 'CUST-10045') ?? summary.results.find((r) => r.attempt.outcome === 'synced');
      if (showcase?.attempt.customerNumber) {
        const c = await connector.ipaas.findByNumber(CUSTOMER, showcase.attempt.customerNumber);
        if (c) {
          io.out('');
          io.out(`${c.number} as iPaaS.com now holds it (read back through its API):`);
          io.out(`  Name:    ${c.name}`);
          io.out(`  Comment: ${String(c.fields.Comment ?? '').replace(/\n/g, '\n           ')}`);
          for (const [k, v] of Object.entries(c.customFields)) io.out(`  ${k}: ${v.length > 100 ? `${v.slice(0, 100)}…` : v}`);
        }
      }
      io.out('');
      io.out(`Database: ${connector.store.location}`);
      io.out(`Log:      ${loaded.config.log.path}`);
      io.out('Next: `npx ipaas-openai logs CUST-10045`, `npx ipaas-openai logs --attempt 1`, `npx ipaas-openai emulate all` to keep emulators running.');

      // The same database, served: the page shows the syncs above.
      const service = await startDashboard(loaded, connector.logger);
      try {
        io.out('');
        io.out(`Dashboard: ${service.url}/`);
        if (options.keep || (options.interactive ?? process.stdout.isTTY === true)) {
          io.out(service.generatedAdminToken
            ? `  Sync and Retry on the page ask for the admin token: ${service.ctx.adminToken}`
            : `  Sync and Retry on the page ask for the admin token (${ENV.adminToken}).`);
          io.out('Emulators and the dashboard keep running; Ctrl-C stops them.');
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          io.out('Stopping the dashboard and the emulators…');
        } else {
          io.out('  (stopped again: not a terminal; `npx ipaas-openai demo --keep` keeps it running)');
        }
      } finally {
        await service.stop(2000);
      }
      return summary.synced > 0 ? 0 : 1;
    } finally {
      await connector.close();
    }
  } finally {
    await emulators.close();
  }
}

