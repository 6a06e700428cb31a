/**
 * The Fastify instance and its cross-cutting behaviour: correlation ids, counters, latency,
 * injected faults, bearer auth, JSON parsing and ASP.NET-style error bodies. Control API calls
 * (/__emulator/...) get the auth only.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isControlPath } from '../control-path.js';
import type { AuthService } from './auth.js';
import { errorBody, IpaasHttpError } from './errors.js';
import type { IpaasCounters, IpaasFault } from './types.js';

export const TIMEOUT_FAULT_MS = 30_000;
/** Routes reachable without a bearer token. */
const PUBLIC_ROUTES = new Set(['POST /sso/v2/Auth/Login', 'POST /sso/v2/Auth/Refresh']);

const FAULT_MESSAGES: Record<number, string> = {
  429: 'Too many requests. Please retry later.',
  500: 'An unexpected error occurred while processing the request.',
  502: 'Bad gateway: the upstream service returned an invalid response.',
  503: 'The service is temporarily unavailable. Please retry later.',
  504: 'The request timed out.',
};

export interface PendingFault {
  route: string | undefined;
  remaining: number;
  fault: IpaasFault;
}

export interface HttpContext {
  auth: AuthService;
  counters: IpaasCounters;
  faults: PendingFault[];
  latencyMs: number;
  logger: boolean;
  /** Resolves after `ms` or as soon as the emulator closes. */
  wait(ms: number): Promise<void>;
}

/** Route key as used by counters and faults, e.g. 'GET /customers/v2/Customer/:id'. */
export function routeKey(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? '<unmatched>'}`;
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function takeFault(faults: PendingFault[], key: string): IpaasFault | undefined {
  const i = faults.findIndex((f) => f.route === undefined || f.route === key);
  const f = i >= 0 ? faults[i] : undefined;
  if (!f) return undefined;
  f.remaining -= 1;
  if (f.remaining <= 0) faults.splice(i, 1);
  return f.fault;
}

/** Errors Fastify raises itself (body parsing, media type, size) carry a statusCode. */
function frameworkError(err: unknown): { status: number; message: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e.statusCode !== 'number' || e.statusCode < 400 || e.statusCode >= 600) return undefined;
  const msg = typeof e.message === 'string' ? e.message : 'The request could not be processed.';
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { status: 415, message: 'Unsupported content type; send application/json.' };
  }
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, message: 'The request body is too large.' };
  return { status: e.statusCode, message: msg };
}

export function createHttpApp(ctx: HttpContext): FastifyInstance {
  const app = Fastify({
    logger: ctx.logger,
    forceCloseConnections: true,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
  });

  // JSON like ASP.NET: an empty body is "no body" (not an error); malformed JSON is a 400.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text) as unknown);
    } catch (e) {
      const detail = e instanceof Error ? ` ${e.message}` : '';
      done(new IpaasHttpError(400, `The request body is not valid JSON.${detail}`), undefined);
    }
  });

  const authenticate = (req: FastifyRequest, reply: FastifyReply): void => {
    try {
      ctx.auth.authenticate(req.headers.authorization);
    } catch (e) {
      reply.header('www-authenticate', 'Bearer');
      throw e;
    }
  };

  app.addHook('onRequest', async (req, reply) => {
    const incoming = req.headers['x-correlation-id'];
    const cid = typeof incoming === 'string' && incoming !== '' ? incoming : randomUUID();
    reply.header('x-correlation-id', cid);

    // Control API calls (control-api.ts): same auth, but no counters, latency or faults.
    if (isControlPath(req.url)) return authenticate(req, reply);

    const key = routeKey(req);
    ctx.counters.requests += 1;
    bump(ctx.counters.byRoute, key);

    if (ctx.latencyMs > 0) await ctx.wait(ctx.latencyMs);

    const fault = takeFault(ctx.faults, key);
    if (fault) {
      if ('kind' in fault) {
        await ctx.wait(TIMEOUT_FAULT_MS);
        throw new IpaasHttpError(504, FAULT_MESSAGES[504] ?? 'Gateway Timeout');
      }
      if (fault.status === 429 || fault.retryAfterSeconds !== undefined) {
        reply.header('retry-after', String(fault.retryAfterSeconds ?? 1));
      }
      throw new IpaasHttpError(fault.status, FAULT_MESSAGES[fault.status] ?? 'Error');
    }

    if (req.routeOptions.url !== undefined && !PUBLIC_ROUTES.has(key)) authenticate(req, reply);
  });

  app.addHook('onResponse', async (req, reply) => {
    if (isControlPath(req.url)) return;
    bump(ctx.counters.byStatus, String(reply.statusCode));
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof IpaasHttpError) {
      return reply.code(err.status).type('application/json').send(err.toBody());
    }
    const fw = frameworkError(err);
    if (fw) return reply.code(fw.status).type('application/json').send(errorBody(fw.status, fw.message));
    req.log.error({ err }, 'iPaaS emulator internal error');
    return reply.code(500).type('application/json').send(errorBody(500, FAULT_MESSAGES[500] ?? 'Error'));
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    reply.code(404).type('application/json').send(errorBody(404, `No resource matches ${req.method} ${path}.`));
  });

  return app;
}
