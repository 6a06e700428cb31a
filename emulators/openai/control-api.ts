/**
 * The OpenAI emulator's control API under /__emulator/ (a prefix OpenAI does not use): counters,
 * fault injection, live settings and the webhooks sent, over HTTP, for tests that run the emulator as
 * a separate process (`ipaas-openai emulate`). Same bearer auth as /v1; app.ts keeps these calls out
 * of the counters, the request log and the rate limits, so tests can compare counts exactly.
 */
import type { FastifyInstance } from 'fastify';
import { CONTROL_PREFIX, registerCommonControlRoutes } from '../control-path.js';
import { parseOpenAIFault } from './fault-schema.js';
import { parseSettingsPatch } from './settings.js';
import { parseWebhookSendRequest } from './webhook-send-request.js';
import type { OpenAICounters, OpenAIFault, OpenAISettings, OpenAISettingsPatch, PendingFault } from './types.js';
import type { WebhookControl } from './webhook-types.js';

export interface ControlDeps {
  counters: OpenAICounters;
  resetCounters(): void;
  injectFault(f: OpenAIFault): void;
  pendingFaults(): PendingFault[];
  clearFaults(): void;
  settings(): OpenAISettings;
  updateSettings(p: OpenAISettingsPatch): OpenAISettings;
  webhooks: WebhookControl;
}


export function registerControlApi(app: FastifyInstance, deps: ControlDeps): void {
  const at = (p: string): string => `${CONTROL_PREFIX}${p}`;
  const own = ['GET /__emulator/settings', 'PATCH /__emulator/settings', 'GET /__emulator/webhooks', 'POST /__emulator/webhooks/send'];
  registerCommonControlRoutes(app, 'openai', own, deps, parseOpenAIFault);
  app.get(at('settings'), async () => deps.settings());
  app.patch(at('settings'), async (req) => deps.updateSettings(parseSettingsPatch(req.body)));
  app.get(at('webhooks'), async () => ({ deliveries: deps.webhooks.deliveries() }));
  app.post(at('webhooks/send'), async (req, reply) => reply.code(201).send(await deps.webhooks.send(parseWebhookSendRequest(req.body))));
}
