import { startService } from '../../server/service.js';
import { resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

export interface ServeOptions extends CommonOptions {
  host?: string | undefined;
  port?: number | undefined;
  concurrency?: number | undefined;
  /** Take webhooks and API calls, but run no workers (an intake-only node). */
  workers?: boolean;
}

/** `ipaas-openai serve`: webhooks + manual-sync API + workers until SIGTERM/SIGINT, then a graceful stop. */
export async function serveCommand(options: ServeOptions, io: CommandIO, until?: Promise<void>): Promise<number> {
  const loaded = resolveConfig(io, options);
  if (options.host) loaded.config.server.host = options.host;
  if (options.port !== undefined) loaded.config.server.port = options.port;
  if (options.concurrency) loaded.config.jobs.concurrency = options.concurrency;
  const service = await startService(loaded, { workers: options.workers !== false });
  io.out(`ipaas-openai serving on ${service.url}`);
  io.out(`  dashboard:    ${service.url}/   metrics: ${service.url}/metrics   API: ${service.url}/openapi.json`);
  io.out(`  webhooks:     POST ${service.url}/webhooks/ipaas ${loaded.config.server.webhookApiKey ? '(Bearer Webhook API Key)' : '(disabled: set IPAAS_WEBHOOK_KEY)'}`);
  io.out(`  manual sync:  POST ${service.url}/api/sync   status: GET ${service.url}/api/jobs   health: ${service.url}/readyz`);
  if (service.generatedAdminToken) io.out(`  admin token for this run: ${service.ctx.adminToken}  (set IPAAS_OPENAI_ADMIN_TOKEN to keep one)`);
  io.out(`  store: ${service.ctx.deps.store.location}   workers: ${options.workers === false ? 'off (intake only)' : loaded.config.jobs.concurrency}`);
  await (until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }));
  io.out('Stopping: OpenAI calls in flight are aborted and go back to the queue; stored answers finish their write-back (10 s at most)…');
  const r = await service.stop(10_000);
  io.out(`Stopped: ${r.finished} finished, ${r.released} handed back to the queue.`);
  return 0;
}
