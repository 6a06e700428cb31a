import { CUSTOMER } from '../src/ipaas/entities.js';
/**
 * The yardstick: the same chain (GET customer -> OpenAI -> PUT) as a bare
 * script would do it, with the product's own request building, but no queue,
 * no sync log, no webhooks. Runs in the benchmark's process; its CPU is measured there.
 */
import { loadConfig } from '../src/config/load-config.js';
import { IpaasClient } from '../src/ipaas/ipaas-client.js';
import { selectCollections, type ActiveCollections } from '../src/mapping/collections.js';
import { FieldCatalog } from '../src/mapping/field-catalog.js';
import { mapFrom } from '../src/mapping/map-from.js';
import { mapTo } from '../src/mapping/map-to.js';
import { buildMappingPlan } from '../src/mapping/mapping-plan.js';
import { buildRequest } from '../src/openai/build-request.js';
import { callOpenAI } from '../src/openai/call-openai.js';
import { createOpenAIClient } from '../src/openai/openai-client.js';
import { parseAnswer } from '../src/openai/parse-answer.js';
import { createRedactor } from '../src/shared/redact.js';
import { buildPatch } from '../src/pipeline/write-back.js';
import { pool } from './lib.js';

export async function bareScript(env: Record<string, string>, n: number, concurrency: number) {
  const { config } = loadConfig({ env, overrides: { store: { path: ':memory:' } } });
  const redact = createRedactor([]);
  const ipaas = new IpaasClient({ ...config.ipaas, redact });
  const openai = createOpenAIClient(config.openai);
  for (const d of config.customFields) {
    await ipaas.createCustomField({ name: d.name, data_type: d.dataType, description: d.description }).catch(() => undefined);
  }
  const plan = buildMappingPlan(selectCollections(config) as ActiveCollections, new FieldCatalog(await ipaas.listCustomFields()));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
    const customer = (await ipaas.getRecord(CUSTOMER, String(7 + i)))!;
    const mapped = mapFrom(plan, customer);
    const req = buildRequest(config.openai, plan.answerFields, mapped, config.privacy);
    const res = await callOpenAI(openai, req, redact, config.openai.timeoutMs);
    const answer = parseAnswer(req.api, res.raw, req.answerSchema, mapped.id) as Record<string, unknown>;
    const writes = mapTo(plan, { Id: mapped.id, ResponseId: res.responseId, ResponseDate: new Date(), PromptText: mapped.promptText, Model: res.model, answer });
    await ipaas.updateRecord(CUSTOMER, customer.id, buildPatch(customer, writes).patch);
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, perSecond: n / seconds, cpuMsPerRecord: (cpu.user + cpu.system) / 1000 / n };
}
