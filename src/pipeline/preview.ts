import type { ConnectorConfig } from '../config/schema.js';
import type { IpaasClient } from '../ipaas/ipaas-client.js';
import { mapFrom } from '../mapping/map-from.js';
import { buildRequest } from '../openai/build-request.js';
import { estimateRequest, type TokenEstimate } from '../openai/estimate-tokens.js';
import { ConnectorError } from '../shared/errors.js';
import { loadRecord, requireNumber, type RecordRef } from './load-record.js';
import { filterReason } from './prepare-and-call.js';
import { prepareMappings } from './prepare-mappings.js';

export interface Preview {
  customerId: string;
  customerNumber: string;
  api: string;
  model: string;
  endpoint: string;
  request: Record<string, unknown>;
  estimate: TokenEstimate;
  targets: string[];
  wouldCreateCustomFields: string[];
  /** Why a sync would skip this record (the collection's filter) without calling OpenAI; null when it would be sent. */
  skippedBecause: string | null;
}

/** A dry run: the exact request that would be sent, with its token and cost estimate. No OpenAI call, no write. */
export async function previewRecord(config: ConnectorConfig, ipaas: IpaasClient, ref: RecordRef, now: () => Date = () => new Date()): Promise<Preview> {
  const prepared = await prepareMappings(config, ipaas, { dryRun: true, entity: ref.entity });
  if ('disabled' in prepared) throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections.' });
  const customer = await loadRecord(ipaas, ref);
  // The same steps as a sync, in the same order: a record the filter excludes would not be sent.
  const skippedBecause = filterReason(prepared.plan, customer, now) ?? null;
  const customerNumber = requireNumber(customer);
  const mapped = mapFrom(prepared.plan, customer, now);
  const request = buildRequest(config.openai, prepared.plan.answerFields, mapped, config.privacy);
  return {
    customerId: customer.id,
    customerNumber,
    api: request.api,
    model: request.model,
    endpoint: `${config.openai.baseUrl.replace(/\/$/, '')}/${request.api === 'responses' ? 'responses' : 'chat/completions'}`,
    request: request.body,
    estimate: await estimateRequest(request, config.openai.prices),
    targets: prepared.plan.targets.map((t) => t.destination),
    wouldCreateCustomFields: prepared.wouldCreate,
    skippedBecause,
  };
}
