import { entityModel, type IpaasRecord } from '../../ipaas/entities.js';
import type { IpaasClient } from '../../ipaas/ipaas-client.js';
import { compileFormula, evaluateFormula } from '../../mapping/formula.js';
import { recordScope } from '../../mapping/map-from.js';
import type { BulkParams } from './bulk-params.js';

export interface RecordPageResult {
  page: number;
  records: IpaasRecord[];
  /** Records of this page the --where formula excluded. */
  excluded: number;
  total: number | null;
  last: boolean;
}

/**
 * Streams the account's records of the run's data model page by page through iPaaS.com's paged list
 * (X-Pagination, pageNumber): one page in memory at a time, however many records.
 */
export async function* recordPages(ipaas: IpaasClient, params: BulkParams, fromPage: number, pageSize = 100): AsyncGenerator<RecordPageResult> {
  const where = params.where ? compileFormula(params.where) : undefined;
  const model = entityModel(params.entity);
  for (let page = fromPage; ; page++) {
    const { records, pagination } = await ipaas.listRecords(model, page, {
      pageSize,
      ...(params.filter ? { filter: params.filter } : {}),
      ...(params.since ? { updatedSince: params.since } : {}),
    });
    const kept = where ? records.filter((c) => evaluateFormula(where, recordScope(c, () => new Date()))) : records;
    const last = records.length === 0 || page >= pagination.total_Pages;
    yield { page, records: kept, excluded: records.length - kept.length, total: pagination.total_Count ?? null, last };
    if (last) return;
  }
}
