import { call } from '../../emulators/ipaas/testing.js';
import { startService, type RunningService } from '../../src/server/service.js';
import { silentLogger } from '../../src/shared/logger.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

export const WEBHOOK_KEY = 'whk-test-0123456789';
export const ADMIN_TOKEN = 'admin-test-token-0123456789';

export interface ServiceHarness extends Harness {
  service: RunningService;
  /** Calls the service's HTTP API (admin token unless given). */
  api<T = any>(method: string, path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  /** Resolves when iPaaS.com's webhooks are delivered and the queue has nothing left to do now. */
  idle(timeoutMs?: number): Promise<void>;
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Both emulators, the service in-process on a random port, and iPaaS.com's webhooks pointed at it. */
export async function startServiceHarness(options: HarnessOptions & { webhooks?: boolean } = {}): Promise<ServiceHarness> {
  const h = await startHarness({
    ...options,
    ipaas: { webhookRetryUnitMs: 5, ...options.ipaas },
    env: { IPAAS_WEBHOOK_KEY: WEBHOOK_KEY, IPAAS_OPENAI_ADMIN_TOKEN: ADMIN_TOKEN, ...options.env },
  });
  const loaded = loadConfig({ env: h.env, cwd: h.dir, overrides: { server: { port: 0 }, jobs: { retryBaseMs: 50, retryMaxMs: 500 }, ...options.config } });
  // The harness's own connector holds the same database; the service opens it too (SQLite WAL allows both).
  const service = await startService(loaded, { logger: silentLogger() });
  if (options.webhooks !== false) {
    for (const scope of ['customer/created', 'customer/updated']) {
      const r = await call(h.emulators.ipaas.url, 'POST', '/hookapi/v2/Webhook', { body: { scope, destination_url: `${service.url}/webhooks/ipaas`, webhook_api_key: WEBHOOK_KEY } });
      if (r.status !== 201) throw new Error(`webhook registration failed: ${r.status}`);
    }
  }
  const close = h.close;
  return Object.assign(h, {
    service,
    async api(method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
      const res = await fetch(`${service.url}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async idle(timeoutMs = 15_000) {
      const jobs = service.ctx.deps.store.queue;
      let quietSince = 0;
      await waitFor(
        async () => {
          await h.emulators.ipaas.emulator.flushWebhooks();
          const c = await jobs.counts();
          const busy = c.calling + c.answered > 0 || service.ctx.pool.busy > 0 || (await jobs.list({ state: 'pending', limit: 50 })).some((j) => j.runAfter <= Date.now() + 2000);
          if (busy) quietSince = 0;
          else quietSince ||= Date.now();
          return quietSince > 0 && Date.now() - quietSince > 150;
        },
        timeoutMs,
        'the queue to drain',
      );
    },
    async close() {
      await service.stop(1000);
      await close();
    },
  }) as ServiceHarness;
}
