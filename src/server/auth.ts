import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer\s+(.+)$/i.exec(h.trim()) : null;
  return m?.[1];
}

/** iPaaS.com sends the subscription's Webhook API Key as a Bearer token. */
export function checkWebhookAuth(req: FastifyRequest, key: string | undefined): void {
  if (!key) throw new HttpError(503, 'Webhooks are not accepted: no Webhook API Key is configured.', 'Set IPAAS_WEBHOOK_KEY to the Webhook API Key of the iPaaS.com subscription.');
  const token = bearer(req);
  if (!token) throw new HttpError(401, 'Missing Authorization: Bearer <Webhook API Key>.', 'Configure the webhook in iPaaS.com with this connector\'s Webhook API Key.');
  if (!safeEqual(token, key)) throw new HttpError(401, 'The webhook\'s bearer key does not match.', 'Check that the Webhook API Key in iPaaS.com equals IPAAS_WEBHOOK_KEY.');
}

/** Optional hardening: an HMAC-SHA256 of the exact body in x-ipaas-signature ("sha256=<hex>"). */
export function checkSignature(req: FastifyRequest, rawBody: string, secret: string | undefined): void {
  if (!secret) return;
  const header = req.headers['x-ipaas-signature'];
  const sent = typeof header === 'string' ? header.replace(/^sha256=/, '') : '';
  const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
  if (!sent || !safeEqual(sent, expected)) throw new HttpError(401, 'The webhook signature (x-ipaas-signature) is missing or wrong.', 'Use the same HMAC secret in iPaaS.com and IPAAS_WEBHOOK_HMAC_SECRET.');
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);
export const isLoopbackHost = (host: string) => LOOPBACK.has(host);

/** State-changing calls always need the admin token; reads need it unless the service only listens on loopback. */
export function checkAdmin(req: FastifyRequest, token: string, loopbackOnly: boolean): void {
  const mutating = req.method !== 'GET' && req.method !== 'HEAD';
  if (!mutating && loopbackOnly) return;
  const sent = bearer(req);
  if (!sent || !safeEqual(sent, token)) {
    throw new HttpError(401, mutating ? 'This call changes state and needs the admin token.' : 'This service listens beyond localhost: the API needs the admin token.', 'Send Authorization: Bearer <IPAAS_OPENAI_ADMIN_TOKEN>.');
  }
}
