import type OpenAI from 'openai';
import type { ConnectorConfig } from '../config/schema.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { entityModel, type EntityModel, type EntityName } from '../ipaas/entities.js';
import { selectCollections } from '../mapping/collections.js';
import { promptTextMapping } from '../mapping/prompt-text.js';
import { toUpstreamError } from '../openai/call-openai.js';
import { describeError } from '../shared/errors.js';
import type { Redactor } from '../shared/redact.js';
import { findFieldProblems } from '../pipeline/prepare-mappings.js';
import { promptTextError } from '../mapping/check-fields.js';

export type CheckStatus = 'pass' | 'fail' | 'warn';

export interface CheckResult {
  item: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** The seed's validation checklist, in its words, plus the iPaaS.com credentials it presupposes. */
export const CHECKLIST = {
  ipaasCredentials: 'iPaaS.com API credentials are configured and valid.',
  customerNumber: 'CustomerNumber is populated for all records to be synced.',
  openaiCredentials: 'OpenAI API credentials are configured and valid.',
  promptText: 'PromptText contains appropriate instructions for your use case.',
  customFields: 'Custom fields referenced in the prompt exist in iPaaS.',
  webhooks: 'Outbound webhooks are configured if automatic sync is required.',
} as const;

export interface ValidateDeps {
  config: ConnectorConfig;
  ipaas: IpaasClient | Error;
  openai: OpenAI | Error;
  redact: Redactor;
}

const failed = (item: string, err: unknown): CheckResult => {
  const e = describeError(err);
  return { item, status: 'fail', detail: e.message, ...(e.fix ? { fix: e.fix } : {}) };
};

async function checkIpaas(ipaas: IpaasClient, model: EntityModel): Promise<CheckResult> {
  const page = await ipaas.listRecords(model, 1, { pageSize: 1 });
  return { item: CHECKLIST.ipaasCredentials, status: 'pass', detail: `A live call listed ${model.name}s (${page.pagination.total_Count ?? page.records.length} in the account).` };
}

/** The checklist's identity item in the model's words (the seed's for customers). */
const identityItem = (model: EntityModel) => (model.name === 'customer' ? CHECKLIST.customerNumber : `${model.identity} is populated for all records to be synced.`);

async function checkNumbers(ipaas: IpaasClient, model: EntityModel): Promise<CheckResult> {
  let total = 0;
  const missing: string[] = [];
  for await (const c of ipaas.allRecords(model, { pageSize: 100 })) {
    total++;
    if (!c.number) missing.push(`id ${c.id}${c.name ? ` (${c.name})` : ''}`);
  }
  const item = identityItem(model);
  if (missing.length === 0) return { item, status: 'pass', detail: `All ${total} ${model.name}s have a ${model.identity}.` };
  return {
    item,
    status: 'fail',
    detail: `${missing.length} of ${total} ${model.name}s lack a ${model.identity}: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}. They fail and are never sent to OpenAI.`,
    fix: model.name === 'customer' ? 'Fill in Customer Number for these customers in iPaaS.com.' : `Fill in the ${model.identity} of these ${model.name}s in iPaaS.com.`,
  };
}

async function checkOpenAI(config: ConnectorConfig, openai: OpenAI, redact: Redactor): Promise<CheckResult> {
  try {
    const model = await openai.models.retrieve(config.openai.model);
    return { item: CHECKLIST.openaiCredentials, status: 'pass', detail: `A live call found model ${model.id} at ${config.openai.baseUrl}.` };
  } catch (err) {
    return failed(CHECKLIST.openaiCredentials, toUpstreamError(err, redact, config.openai.timeoutMs, config.openai.baseUrl));
  }
}

/**
 * Runs every checklist item; each ends pass, warn or fail with the fix.
 * Live calls prove the credentials; nothing is written.
 */
export async function validateSetup(deps: ValidateDeps, entity?: EntityName): Promise<CheckResult[]> {
  const { config, ipaas, openai } = deps;
  const model = entityModel(entity);
  const results: CheckResult[] = [];
  const ipaasOk = ipaas instanceof Error ? undefined : ipaas;

  if (!ipaasOk) results.push(failed(CHECKLIST.ipaasCredentials, ipaas));
  else results.push(await checkIpaas(ipaasOk, model).catch((e) => failed(CHECKLIST.ipaasCredentials, e)));
  const ipaasLive = ipaasOk && results[0]!.status === 'pass' ? ipaasOk : undefined;

  if (ipaasLive) results.push(await checkNumbers(ipaasLive, model).catch((e) => failed(identityItem(model), e)));
  else results.push({ item: identityItem(model), status: 'fail', detail: 'Not checked: iPaaS.com cannot be reached with these credentials.', fix: 'Fix the iPaaS.com credentials first.' });

  results.push(openai instanceof Error ? failed(CHECKLIST.openaiCredentials, openai) : await checkOpenAI(config, openai, deps.redact));

  let active;
  try {
    active = selectCollections(config, undefined, model.name);
  } catch (err) {
    results.push(failed(CHECKLIST.promptText, err));
    return results;
  }
  if ('disabled' in active) {
    results.push({ item: CHECKLIST.promptText, status: 'fail', detail: active.disabled, fix: 'Set status: Enabled on the mapping collections.' });
    return results;
  }
  const prompt = promptTextMapping(active.from);
  let problems: Awaited<ReturnType<typeof findFieldProblems>> | undefined;
  let fieldCheckError: unknown;
  if (ipaasLive) {
    try {
      problems = await findFieldProblems(config, ipaasLive, active);
    } catch (err) {
      fieldCheckError = err;
    }
  }

  const noPrompt = promptTextError(active);
  if (noPrompt) {
    results.push(failed(CHECKLIST.promptText, noPrompt));
  } else if (prompt!.type === 'Static' && prompt!.source.trim().length < 10) {
    results.push({ item: CHECKLIST.promptText, status: 'warn', detail: `The PromptText of "${active.from.name}" is only "${prompt!.source.trim()}": too short to tell OpenAI what to do.`, fix: `Write fuller instructions into the Static PromptText mapping of "${active.from.name}".` });
  } else {
    const promptProblems = problems?.problems.filter((p) => p.where.includes('PromptText')) ?? [];
    const unknown = promptProblems.filter((p) => !problems!.creatable.includes(p.field.toLowerCase()));
    results.push(
      unknown.length
        ? { item: CHECKLIST.promptText, status: 'fail', detail: `The PromptText references fields that do not exist: ${unknown.map((p) => `"${p.field}"`).join(', ')}.`, fix: unknown[0]!.fix }
        : { item: CHECKLIST.promptText, status: 'pass', detail: `PromptText (${prompt!.source.length} characters) references only existing fields.` },
    );
  }

  if (!problems) {
    results.push({ item: CHECKLIST.customFields, status: 'fail', detail: ipaasLive ? `Not checked: ${describeError(fieldCheckError).message}` : 'Not checked: iPaaS.com cannot be reached.', fix: 'Fix the iPaaS.com credentials first.' });
  } else if (problems.problems.length === 0) {
    results.push({ item: CHECKLIST.customFields, status: 'pass', detail: 'Every field the mappings and the PromptText reference exists in iPaaS.com.' });
  } else {
    const creatable = problems.problems.filter((p) => problems.creatable.includes(p.field.toLowerCase()));
    const blocking = problems.problems.filter((p) => !problems.creatable.includes(p.field.toLowerCase()));
    results.push(
      blocking.length
        ? { item: CHECKLIST.customFields, status: 'fail', detail: `Request field not found: ${[...new Set(blocking.map((p) => `"${p.field}"`))].join(', ')} (${blocking[0]!.where}).`, fix: blocking[0]!.fix }
        : { item: CHECKLIST.customFields, status: 'warn', detail: `Missing now, created automatically on the first sync: ${[...new Set(creatable.map((p) => `"${p.field}"`))].join(', ')}.`, fix: `Nothing to do, or create them yourself in iPaaS.com (module ${model.label}).` },
    );
  }

  const wants = active.from.triggerEvents.filter((e) => e !== 'Manual');
  if (wants.length === 0) {
    results.push({ item: CHECKLIST.webhooks, status: 'pass', detail: 'Only manual sync is configured: no webhooks needed.' });
  } else if (!ipaasLive) {
    results.push({ item: CHECKLIST.webhooks, status: 'fail', detail: 'Not checked: iPaaS.com cannot be reached.', fix: 'Fix the iPaaS.com credentials first.' });
  } else {
    try {
      const hooks = await ipaasLive.listWebhooks();
      const scopes = new Set(hooks.map((h) => h.scope.replace(/\/debug$/, '')));
      const need = wants.map((e) => (e === model.events.created ? model.scopes.created : model.scopes.updated));
      const lacking = need.filter((s) => !scopes.has(s));
      results.push(
        lacking.length
          ? { item: CHECKLIST.webhooks, status: 'fail', detail: `The trigger events ${wants.join(', ')} need outbound webhooks; missing scopes: ${lacking.join(', ')}.`, fix: `In iPaaS.com, add outbound webhooks for ${lacking.join(' and ')} pointing at this connector's /webhooks/ipaas endpoint, or remove those trigger events.` }
          : { item: CHECKLIST.webhooks, status: 'pass', detail: `Webhooks configured for ${need.join(', ')}.` },
      );
    } catch (err) {
      results.push(failed(CHECKLIST.webhooks, err));
    }
  }
  return results;
}
