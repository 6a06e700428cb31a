import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { ConnectorError, describeError } from '../shared/errors.js';
import { errorForLog } from '../shared/log-safe.js';

/** The one HTTP error type: status + a body that says what is wrong and what to do. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
  }
}

export function sendError(reply: FastifyReply, status: number, message: string, fix?: string) {
  return reply.code(status).send({ error: { status, message, ...(fix ? { fix } : {}) } });
}

/** Translates every error at the HTTP edge, in one place. */
export function installErrorHandler(app: FastifyInstance, redact: (s: string) => string, logger?: { error(obj: object, msg: string): void }): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    if (err instanceof HttpError) return sendError(reply, err.status, err.message, err.fix);
    // The store cannot take it now (down, locked, or this process's disk full): not the caller's fault and
    // not acknowledged, so 503 with Retry-After; iPaaS.com delivers the webhook again later.
    if (err instanceof ConnectorError && (err.code === 'STORE_UNAVAILABLE' || err.code === 'STORAGE_FAULT')) {
      (logger ?? req.log).error({ method: req.method, url: req.url.split('?')[0], error: err.code, reason: redact(err.message), fix: err.fix }, 'request refused: the store cannot take it');
      return reply.header('retry-after', '5').code(503).send({ error: { status: 503, message: redact(err.message), ...(err.fix ? { fix: err.fix } : {}) } });
    }
    if (err instanceof ConnectorError) {
      const status = err.code === 'INVALID_INPUT' ? 400 : err.code === 'CONFIG_INVALID' ? 409 : 502;
      return sendError(reply, status, redact(err.message), err.fix);
    }
    const fe = err as FastifyError;
    if (fe.statusCode && fe.statusCode < 500) {
      const message =
        fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is too large.' : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'Send the body as application/json.' : redact(fe.message);
      return sendError(reply, fe.statusCode, message);
    }
    const e = describeError(err);
    // The connector's own log (Fastify's is off), with the route: the reason must be findable.
    (logger ?? req.log).error({ method: req.method, url: req.url.split('?')[0], ...errorForLog(err), fix: e.fix }, 'request failed');
    return sendError(reply, 500, 'Internal error; the details are in the service log.');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, `No route ${req.method} ${req.url.split('?')[0]}.`, 'See /openapi.json for the API.'));
}
