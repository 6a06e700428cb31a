import { CUSTOMER } from '../src/ipaas/entities.js';
/**
 * The floor: the same three calls per record (GET customer -> POST /v1/responses -> PUT customer)
 * in plain Node, over undici's raw request API with keep-alive, no SDK, no mapping engine, no queue,
 * no log. What no connector can beat on this machine; `serve` is measured against it in the same run.
 * The request body is the product's own (instructions and answer schema built once), so the bytes on
 * the wire match; only per-record data is filled in here.
 */
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config/load-config.js';
import { IpaasClient } from '../src/ipaas/ipaas-client.js';
import { selectCollections, type ActiveCollections } from '../src/mapping/collections.js';
import { FieldCatalog } from '../src/mapping/field-catalog.js';
import { mapFrom } from '../src/mapping/map-from.js';
import { buildMappingPlan } from '../src/mapping/mapping-plan.js';
import { buildRequest } from '../src/openai/build-request.js';
import { createRedactor } from '../src/shared/redact.js';
import { pool } from './lib.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function plainNodeFloor(env: Record<string, string>, n: number, concurrency: number, firstId = 7) {
  const { config } = loadConfig({ env, overrides: { store: { path: ':memory:' } } });
  // Set-up, not timed: the body's static part, exactly as the product builds it.
  const ipaasClient = new IpaasClient({ ...config.ipaas, redact: createRedactor([]) });
  const plan = buildMappingPlan(selectCollections(config) as ActiveCollections, new FieldCatalog(await ipaasClient.listCustomFields()));
  const sample = (await ipaasClient.getRecord(CUSTOMER, String(firstId)))!;
  const template = buildRequest(config.openai, plan.answerFields, mapFrom(plan, sample), config.privacy).body;
  await ipaasClient.close();

  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: concurrency * 2 });
  const ipaas = config.ipaas.baseUrl.replace(/\/$/, '');
  const openai = config.openai.baseUrl.replace(/\/$/, '');
  const ipaasAuth = { authorization: `Bearer ${config.ipaas.apiKey}`, 'content-type': 'application/json' };
  const openaiAuth = { authorization: `Bearer ${config.openai.apiKey}`, 'content-type': 'application/json' };
  const json = async (res: Awaited<ReturnType<typeof request>>): Promise<Json> => {
    if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}: ${await res.body.text()}`);
    return (await res.body.json()) as Json;
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(Array.from({ length: n }, (_, i) => i), concurrency, async (i) => {
    const id = String(firstId + i);
    const c = await json(await request(`${ipaas}/customers/v2/Customer/${id}`, { dispatcher, headers: ipaasAuth }));
    const data = { Id: c.customer_number, FirstName: c.first_name, LastName: c.last_name, EmailAddress: c.email_address, Categories: c.categories };
    const body = { ...template, input: [{ role: 'user', content: JSON.stringify(data) }] };
    const r = await json(await request(`${openai}/responses`, { method: 'POST', dispatcher, headers: openaiAuth, body: JSON.stringify(body) }));
    const text = (r.output as Json[]).find((o) => o.type === 'message')!.content.find((x: Json) => x.type === 'output_text').text as string;
    const answer = JSON.parse(text) as Json;
    const patch = {
      comment: answer.Comment,
      custom_fields: [
        { custom_field_name: 'Known To Film', value: answer['Known To Film'] === 'TRUE' ? 'true' : 'false' },
        { custom_field_name: 'Last Response Date', value: new Date().toISOString() },
        { custom_field_name: 'Last Response ID', value: r.id },
      ],
    };
    await json(await request(`${ipaas}/customers/v2/Customer/${id}`, { method: 'PUT', dispatcher, headers: ipaasAuth, body: JSON.stringify(patch) }));
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await dispatcher.close();
  return { seconds, perSecond: n / seconds, cpuMsPerRecord: (cpu.user + cpu.system) / 1000 / n };
}
