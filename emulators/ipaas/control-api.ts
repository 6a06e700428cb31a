/**
 * The iPaaS.com emulator's control API under /__emulator/ (a prefix iPaaS.com does not use): counters
 * and fault injection over HTTP, for tests that run the emulator as a separate process
 * (`ipaas-openai emulate`). Same bearer auth as the emulated API; http.ts keeps these calls out of
 * the counters, the latency and the injected faults, so tests can compare counts exactly.
 */
import type { FastifyInstance } from 'fastify';
import { isControlPath, registerCommonControlRoutes } from '../control-path.js';
import { parseIpaasFault } from './fault-schema.js';
import type { IpaasCounters, IpaasFault, IpaasPendingFault } from './types.js';

export interface ControlDeps {
  counters: IpaasCounters;
  resetCounters(): void;
  injectFault(f: IpaasFault): void;
  pendingFaults(): IpaasPendingFault[];
  clearFaults(): void;
}


/**
 * Call before the emulated routes are registered: the onRoute hook collects their keys
 * ('GET /customers/v2/Customer/:id', ...) so a fault naming a route that never matches is refused.
 */
export function registerControlApi(app: FastifyInstance, deps: ControlDeps): void {
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    if (isControlPath(r.url)) return;
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push(`${method} ${r.url}`);
  });

  registerCommonControlRoutes(app, 'ipaas', [], deps, (body) => parseIpaasFault(body, routes));
}
