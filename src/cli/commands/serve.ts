import { describeError } from '../../shared/errors.js';
import { startService, type RunningService } from '../../server/service.js';
import { resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

export interface ServeOptions extends CommonOptions {
  host?: string | undefined;
  port?: number | undefined;
  concurrency?: number | undefined;
  /** Take webhooks and API calls, but run no workers (an intake-only node). */
  workers?: boolean;
}

export interface ServeHooks {
  /** Stop when this resolves instead of at SIGTERM/SIGINT. */
  until?: Promise<void>;
  /** How the process ends when stopping after a storage fault takes too long (default process.exit). */
  exit?: (code: number) => void;
  /** Sees the service once it listens (tests reach its store here). */
  started?: (service: RunningService) => void;
}

/** After a storage fault: the stop gets this long before the process exits regardless (the promise: out within 10 s). */
const FAULT_EXIT_MS = 8_000;
/** After a storage fault: calls in flight are aborted and write-backs get this long. */
const FAULT_GRACE_MS = 3_000;

/**
 * `ipaas-openai serve`: webhooks + manual-sync API + workers until SIGTERM/SIGINT, then a graceful
 * stop (exit 0). When the store can write no more (SQLite: disk full, read-only, damaged), it says
 * what and where on stderr, stops and exits 1 within 10 s, so that a supervisor restarts it.
 */
export async function serveCommand(options: ServeOptions, io: CommandIO, hooks: ServeHooks = {}): Promise<number> {
  const exit = hooks.exit ?? ((c: number) => process.exit(c));
  const loaded = resolveConfig(io, options);
  if (options.host) loaded.config.server.host = options.host;
  if (options.port !== undefined) loaded.config.server.port = options.port;
  if (options.concurrency) loaded.config.jobs.concurrency = options.concurrency;
  const service = await startService(loaded, { workers: options.workers !== false, ...(options.fresh ? { fresh: true } : {}) });
  // Listening for the stop before saying "serving on": a supervisor (or a test) may send SIGTERM the moment it reads that line.
  const signalled =
    hooks.until ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  if (service.ctx.deps.store.notice) io.err(`warning: ${service.ctx.deps.store.notice}`);
  io.out(`ipaas-openai serving on ${service.url}`);
  io.out(`  dashboard:    ${service.url}/   metrics: ${service.url}/metrics   API: ${service.url}/openapi.json`);
  io.out(`  webhooks:     POST ${service.url}/webhooks/ipaas ${loaded.config.server.webhookApiKey ? '(Bearer Webhook API Key)' : '(disabled: set IPAAS_WEBHOOK_KEY)'}`);
  io.out(`  manual sync:  POST ${service.url}/api/sync   status: GET ${service.url}/api/jobs   health: ${service.url}/readyz`);
  if (service.generatedAdminToken) io.out(`  admin token for this run: ${service.ctx.adminToken}  (set IPAAS_OPENAI_ADMIN_TOKEN to keep one)`);
  io.out(`  store: ${service.ctx.deps.store.location}   workers: ${options.workers === false ? 'off (intake only)' : loaded.config.jobs.concurrency}`);
  hooks.started?.(service);
  const fault = await Promise.race([signalled.then(() => undefined), service.faulted]);
  if (fault) {
    const e = describeError(fault);
    io.err(`error: ${e.message}`);
    if (e.fix) io.err(`Fix: ${e.fix}`);
    io.err('Stopping: nothing more is acknowledged (webhooks get 503 and are delivered again); exit code 1, for a supervisor to restart the service.');
    // However the stop goes (a disk that hangs), the process is gone within 10 s.
    const deadline = setTimeout(() => {
      io.err(`Stopping took longer than ${FAULT_EXIT_MS / 1000} s: exiting now.`);
      exit(1);
    }, FAULT_EXIT_MS);
    await service.stop(FAULT_GRACE_MS).catch(() => {});
    clearTimeout(deadline);
    // Stopped: nothing should hold the event loop any more, but if something does, it does not keep us.
    setTimeout(() => exit(1), 1_000).unref();
    return 1;
  }
  io.out('Stopping: OpenAI calls in flight are aborted and go back to the queue; stored answers finish their write-back (10 s at most)…');
  const r = await service.stop(10_000);
  io.out(`Stopped: ${r.finished} finished, ${r.released} handed back to the queue.`);
  return 0;
}
