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
import { recordPages } from './enumerate-records.js';
import { paramsKey } from './bulk-params.js';
import { inputFingerprint } from '../../pipeline/fingerprint.js';
import { TERMINAL_STATES } from '../../queue/job-states.js';

export interface BulkEstimate {
  records: number;
  sampled: number;
  /** True when the sample was every selected customer: the counts below are counted, not extrapolated. */
  exact: boolean;
  /** Customers looked at for the counts (the first page). */
  sampleSize: number;
  withoutCustomerNumber: number;
  /** Mapped inputs unchanged since their last sync: skipped without a call (none with --force). */
  unchanged: number;
  /** Already finished in the interrupted run this one continues (not sent again). */
  alreadyDone: number;
  /** What will be sent to OpenAI, and what the cost below is for. */
  toSend: number;
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
  /** Direct calls at OpenAI's flex tier: Batch prices, slower answers (sync --all --tier flex). */
  flexUsd: number | null;
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
  const prepared = await prepareMappings(config, ipaas, { dryRun: true, entity: params.entity });
  if ('disabled' in prepared) throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections.' });
  const { plan } = prepared;
  const count = await loadTokenizer();
  const first = (await recordPages(ipaas, params, 1, sampleSize).next()).value;
  if (!first) throw new ConnectorError('IPAAS_REQUEST_FAILED', 'iPaaS.com returned no page of records.');
  const seen = first.records.length + first.excluded;
  const keptShare = seen ? first.records.length / seen : 1;
  const records = Math.round((first.total ?? seen) * keptShare);

  let inputSum = 0;
  let sampled = 0;
  let withoutNumber = 0;
  let filtered = 0;
  let unchanged = 0;
  let prefix = 0;
  for (const c of first.records) {
    // The sync's own steps: the collection's filter skips a record before anything is sent.
    if (filterReason(plan, c, () => new Date())) {
      filtered++;
      continue;
    }
    if (!c.number) {
      withoutNumber++;
      continue;
    }
    const mapped = mapFrom(plan, c);
    if (!params.force && (await store.state.get(c.key))?.inputFingerprint === inputFingerprint(mapped, config.openai.model)) {
      unchanged++;
      continue;
    }
    const request = buildRequest(config.openai, plan.answerFields, mapped, config.privacy);
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
  // Counted when the first page was everything; else the sample's shares, scaled to the total.
  const looked = Math.max(1, sampled + withoutNumber + filtered + unchanged);
  const scale = (k: number) => (first.last ? k : Math.round(records * (k / looked)));
  const excludedByFilter = scale(filtered);
  const withoutCustomerNumber = scale(withoutNumber);
  const unchangedCount = scale(unchanged);
  // A rerun of an interrupted run: what it finished is not sent again.
  const resumed = await store.runs.latestRun(paramsKey(params));
  let alreadyDone = 0;
  if (resumed?.status === 'running') {
    const counts = await store.queue.counts(resumed.id);
    alreadyDone = TERMINAL_STATES.reduce((sum, st) => sum + counts[st], 0);
  }
  // What is left of the run, in the sample's proportions (the sample cannot tell which ones are done).
  const sendable = first.last && alreadyDone === 0 ? sampled : Math.round(Math.max(0, records - alreadyDone) * (sampled / looked));
  const price = priceFor(config.openai.model, config.openai.prices);
  const direct = costUsd({ inputTokens: inputPer * sendable, cachedTokens: cachedPer * Math.max(0, sendable - 1), outputTokens: outputPer * sendable, reasoningTokens: 0 }, price);
  return {
    records,
    sampled,
    exact: first.last,
    sampleSize: seen,
    withoutCustomerNumber,
    unchanged: unchangedCount,
    alreadyDone,
    toSend: sendable,
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
    flexUsd: direct === null ? null : direct * config.batch.discount,
    batchUsd: direct === null ? null : direct * config.batch.discount,
  };
}
