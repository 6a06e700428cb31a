import type { ConnectorConfig } from '../../config/schema.js';
import type { IpaasClient } from '../../ipaas/ipaas-client.js';
import { mapFrom } from '../../mapping/map-from.js';
import { filterReason } from '../../pipeline/prepare-and-call.js';
import { buildRequest } from '../../openai/build-request.js';
import { countRequestTokens, loadTokenizer } from '../../openai/estimate-tokens.js';
import { costUsd, priceFor } from '../../openai/prices.js';
import { ConnectorError } from '../../shared/errors.js';
import type { Storage } from '../../store/ports.js';
import { prepareMappings } from '../../pipeline/prepare-mappings.js';
import type { BulkParams } from './bulk-params.js';
import { customerPages } from './enumerate-customers.js';

export interface BulkEstimate {
  records: number;
  sampled: number;
  withoutCustomerNumber: number;
  /** Records the FROM collection's filter skips (no call, no cost). */
  excludedByFilter: number;
  model: string;
  inputTokensPerRecord: number;
  outputTokensPerRecord: number;
  outputSource: 'sync log' | 'answer fields';
  cachedTokensPerRecord: number;
  cachedShare: number;
  totalInputTokens: number;
  totalOutputTokens: number;
  directUsd: number | null;
  batchUsd: number | null;
}

/** OpenAI caches an identical prompt prefix of 1,024 tokens or more, in steps of 128. */
export function cachedTokensFor(prefixTokens: number): number {
  return prefixTokens >= 1024 ? Math.floor(prefixTokens / 128) * 128 : 0;
}

/**
 * What a bulk run will cost, before it spends anything: the record count from
 * iPaaS.com's paging, input tokens counted with the model family's tokenizer
 * (o200k_base) on a sample of real requests, output tokens from the sync log
 * (or the answer fields), the cached share, and the price in both modes.
 */
export async function estimateBulk(config: ConnectorConfig, ipaas: IpaasClient, store: Storage, params: BulkParams, sampleSize = 100): Promise<BulkEstimate> {
  const prepared = await prepareMappings(config, ipaas, { dryRun: true });
  if ('disabled' in prepared) throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections.' });
  const { plan } = prepared;
  const count = await loadTokenizer();
  const first = (await customerPages(ipaas, params, 1, sampleSize).next()).value;
  if (!first) throw new ConnectorError('IPAAS_REQUEST_FAILED', 'iPaaS.com returned no customer page.');
  const seen = first.customers.length + first.excluded;
  const keptShare = seen ? first.customers.length / seen : 1;
  const records = Math.round((first.total ?? seen) * keptShare);

  let inputSum = 0;
  let sampled = 0;
  let withoutNumber = 0;
  let filtered = 0;
  let prefix = 0;
  for (const c of first.customers) {
    // The sync's own steps: the collection's filter skips a record before anything is sent.
    if (filterReason(plan, c, () => new Date())) {
      filtered++;
      continue;
    }
    if (!c.customerNumber) {
      withoutNumber++;
      continue;
    }
    const request = buildRequest(config.openai, plan.answerFields, mapFrom(plan, c));
    inputSum += await countRequestTokens(request);
    if (!prefix) {
      const schema = request.api === 'responses' ? (request.body.text as { format: { schema: unknown } }).format.schema : (request.body.response_format as { json_schema: { schema: unknown } }).json_schema.schema;
      prefix = count(request.instructions) + count(JSON.stringify(schema)) + 8;
    }
    sampled++;
  }
  const inputPer = sampled ? Math.round(inputSum / sampled) : 0;
  const fromLog = await store.log.averageOutputTokens(config.openai.model);
  const textFields = plan.answerFields.filter((f) => f.dataType === 'string').length;
  const outputPer = fromLog ?? 30 + 60 * textFields + 4 * (plan.answerFields.length - textFields);
  const cachedPer = Math.min(inputPer, cachedTokensFor(prefix));
  const sendable = Math.round(records * (sampled / Math.max(1, sampled + withoutNumber + filtered)));
  const excludedByFilter = Math.round(records * (filtered / Math.max(1, sampled + withoutNumber + filtered)));
  const price = priceFor(config.openai.model, config.openai.prices);
  const direct = costUsd({ inputTokens: inputPer * sendable, cachedTokens: cachedPer * Math.max(0, sendable - 1), outputTokens: outputPer * sendable, reasoningTokens: 0 }, price);
  return {
    records,
    sampled,
    withoutCustomerNumber: Math.round(records - sendable - excludedByFilter),
    excludedByFilter,
    model: config.openai.model,
    inputTokensPerRecord: inputPer,
    outputTokensPerRecord: outputPer,
    outputSource: fromLog === undefined ? 'answer fields' : 'sync log',
    cachedTokensPerRecord: cachedPer,
    cachedShare: inputPer ? cachedPer / inputPer : 0,
    totalInputTokens: inputPer * sendable,
    totalOutputTokens: outputPer * sendable,
    directUsd: direct,
    batchUsd: direct === null ? null : direct * config.batch.discount,
  };
}
