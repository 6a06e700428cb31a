import type { FastifyInstance } from 'fastify';

/**
 * The control API's reserved path prefix, shared by both emulators. Neither iPaaS.com nor OpenAI
 * serves anything under it, so control calls can never be mistaken for emulated API traffic.
 */
export const CONTROL_PREFIX = '/__emulator/';

/** True for `/__emulator` and anything below it (query ignored, case-insensitive like the iPaaS router). */
export function isControlPath(url: string): boolean {
  const path = (url.split('?')[0] ?? url).toLowerCase();
  return path === '/__emulator' || path.startsWith(CONTROL_PREFIX);
}

/** `http://host:port/__emulator/` for an emulator base URL (with or without a path such as /v1). */
export function controlUrlOf(baseUrl: string): string {
  return new URL(CONTROL_PREFIX, baseUrl).toString();
}

/** What both emulators' control APIs serve alike; each adds its own fault parser (and OpenAI its settings). */
export interface CommonControlDeps<F> {
  counters: object;
  resetCounters(): void;
  injectFault(f: F): void;
  pendingFaults(): unknown[];
  clearFaults(): void;
}

/** What GET /__emulator/ lists (a reminder for someone poking at it with curl), before each emulator's own. */
const COMMON_ENDPOINTS = ['GET /__emulator/counters', 'POST /__emulator/counters/reset', 'GET /__emulator/faults', 'POST /__emulator/faults', 'DELETE /__emulator/faults'];

export function registerCommonControlRoutes<F extends { times?: number | undefined }>(
  app: FastifyInstance,
  emulator: 'ipaas' | 'openai',
  ownEndpoints: readonly string[],
  deps: CommonControlDeps<F>,
  parseFault: (body: unknown) => F,
): void {
  const at = (p: string): string => `${CONTROL_PREFIX}${p}`;
  app.get(CONTROL_PREFIX, async () => ({ emulator, endpoints: [...COMMON_ENDPOINTS, ...ownEndpoints] }));
  app.get(at('counters'), async () => deps.counters);
  app.post(at('counters/reset'), async () => {
    deps.resetCounters();
    return deps.counters;
  });
  app.get(at('faults'), async () => ({ faults: deps.pendingFaults() }));
  app.post(at('faults'), async (req, reply) => {
    const fault = parseFault(req.body);
    deps.injectFault(fault);
    return reply.code(201).send({ fault, remaining: fault.times ?? 1 });
  });
  app.delete(at('faults'), async () => {
    const cleared = deps.pendingFaults().length;
    deps.clearFaults();
    return { cleared };
  });
}
