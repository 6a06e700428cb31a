import type { ConnectorConfig } from '../../config/schema.js';
import type { IpaasClient } from '../../ipaas/ipaas-client.js';
import { mapFrom } from '../../mapping/map-from.js';
import { filterReason } from '../../pipeline/prepare-and-call.js';
import { buildRequest, type OpenAIRequest } from '../../openai/build-request.js';
import { countRequestsTokens, staticPartTokens } from '../../openai/estimate-tokens.js';
import { costUsd, priceFor } from '../../openai/prices.js';
import { ConnectorError } from '../../shared/errors.js';
import type { Storage } from '../../store/ports.js';
import { prepareMappings } from '../../pipeline/prepare-mappings.js';
import type { BulkParams } from './bulk-params.js';
import { recordPages } from './enumerate-records.js';
import { paramsKey } from './bulk-params.js';
import { inputFingerprint } from '../../pipeline/fingerprint.js';

export interface BulkEstimate {
  /** Records selected (after --where), every page looked at. */
  records: number;
  /** Requests whose tokens were counted (the first `sampleSize` of those to send). */
  sampled: number;
  /** The counts below are counted over every selected record, not extrapolated (always, since every page is read). */
  exact: boolean;
  /** Records looked at for the counts. */
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

export interface EstimateOptions {
  /** Requests tokenised for the per-record average (the rest are counted, not tokenised). */
  sampleSize?: number;
  /** Stops reading pages (Ctrl-C): the estimate throws INTERRUPTED. */
  signal?: AbortSignal | undefined;
  /** After each page: records looked at so far, and iPaaS.com's total when it gives one. */
  onPage?: (looked: number, total: number | null) => void;
}

/** OpenAI caches an identical prompt prefix of 1,024 tokens or more, in steps of 128. */
export function cachedTokensFor(prefixTokens: number): number {
  return prefixTokens >= 1024 ? Math.floor(prefixTokens / 128) * 128 : 0;
}

/**
 * What a bulk run will cost, before it spends anything. Every page of the selection is read (the list
 * only: no record is loaded on its own), so who is filtered, without CustomerNumber, unchanged or already
 * done in the interrupted run is counted, not extrapolated from a sample; input tokens are counted with
 * the model family's tokenizer (o200k_base) on the first `sampleSize` real requests, output tokens come
 * from the sync log (or the answer fields), and the price is given for direct, flex and batch.
 */
export async function estimateBulk(config: ConnectorConfig, ipaas: IpaasClient, store: Storage, params: BulkParams, options: EstimateOptions = {}): Promise<BulkEstimate> {
  const sampleSize = options.sampleSize ?? 100;
  const prepared = await prepareMappings(config, ipaas, { dryRun: true, entity: params.entity });
  if ('disabled' in prepared) throw new ConnectorError('CONFIG_INVALID', prepared.disabled, { fix: 'Set status: Enabled on the mapping collections.' });
  const { plan } = prepared;
  // A rerun of an interrupted run: what it finished is not sent again.
  const resumed = await store.runs.latestRun(paramsKey(params));
  const finished = resumed?.status === 'running' ? await store.runs.finishedKeys(resumed.id) : new Set<string>();

  let records = 0;
  // The first `sampleSize` requests, counted together once the pages are read.
  const sample: OpenAIRequest[] = [];
  let toSend = 0;
  let withoutNumber = 0;
  let filtered = 0;
  let unchanged = 0;
  let alreadyDone = 0;
  let pages = 0;
  for await (const page of recordPages(ipaas, params, 1, 100)) {
    pages++;
    // The state of a page's records in one go (one round trip each, in parallel), not one after another.
    const states = params.force ? [] : await Promise.all(page.records.map((c) => store.state.get(c.key)));
    for (const [i, c] of page.records.entries()) {
      records++;
      if (finished.has(c.key)) {
        alreadyDone++;
        continue;
      }
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
      if (!params.force && states[i]?.inputFingerprint === inputFingerprint(mapped, config.openai.model)) {
        unchanged++;
        continue;
      }
      toSend++;
      if (sample.length < sampleSize) sample.push(buildRequest(config.openai, plan.answerFields, mapped, config.privacy));
    }
    options.onPage?.(records, page.total);
    if (options.signal?.aborted) {
      throw new ConnectorError('INTERRUPTED', `Stopped while counting the records for the estimate (${records} looked at): nothing was sent.`, { fix: 'Run the same command again when you want the estimate and the run.' });
    }
  }
  if (pages === 0) throw new ConnectorError('IPAAS_REQUEST_FAILED', 'iPaaS.com returned no page of records.');
  const sampled = sample.length;
  const counts = sampled ? await countRequestsTokens(sample) : [];
  const prefix = sampled ? await staticPartTokens(sample[0]!) : 0;
  const inputPer = sampled ? Math.round(counts.reduce((a, b) => a + b, 0) / sampled) : 0;
  const fromLog = await store.log.averageOutputTokens(config.openai.model);
  const textFields = plan.answerFields.filter((f) => f.dataType === 'string').length;
  const outputPer = fromLog ?? 30 + 60 * textFields + 4 * (plan.answerFields.length - textFields);
  const cachedPer = Math.min(inputPer, cachedTokensFor(prefix));
  const sendable = toSend;
  const price = priceFor(config.openai.model, config.openai.prices);
  const direct = costUsd({ inputTokens: inputPer * sendable, cachedTokens: cachedPer * Math.max(0, sendable - 1), outputTokens: outputPer * sendable, reasoningTokens: 0 }, price);
  return {
    records,
    sampled,
    exact: true,
    sampleSize: records,
    withoutCustomerNumber: withoutNumber,
    unchanged,
    alreadyDone,
    toSend: sendable,
    excludedByFilter: filtered,
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
