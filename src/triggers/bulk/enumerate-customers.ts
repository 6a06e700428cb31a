import type { Customer } from '../../ipaas/customer-model.js';
import type { IpaasClient } from '../../ipaas/ipaas-client.js';
import { compileFormula, evaluateFormula } from '../../mapping/formula.js';
import { customerScope } from '../../mapping/map-from.js';
import type { BulkParams } from './bulk-params.js';

export interface CustomerPageResult {
  page: number;
  customers: Customer[];
  /** Customers of this page the --where formula excluded. */
  excluded: number;
  total: number | null;
  last: boolean;
}

/**
 * Streams the account page by page through iPaaS.com's paged list
 * (X-Pagination, pageNumber): one page in memory at a time, however many customers.
 */
export async function* customerPages(ipaas: IpaasClient, params: BulkParams, fromPage: number, pageSize = 100): AsyncGenerator<CustomerPageResult> {
  const where = params.where ? compileFormula(params.where) : undefined;
  for (let page = fromPage; ; page++) {
    const { customers, pagination } = await ipaas.listCustomers(page, {
      pageSize,
      ...(params.filter ? { filter: params.filter } : {}),
      ...(params.since ? { updatedSince: params.since } : {}),
    });
    const kept = where ? customers.filter((c) => evaluateFormula(where, customerScope(c, () => new Date()))) : customers;
    const last = customers.length === 0 || page >= pagination.total_Pages;
    yield { page, customers: kept, excluded: customers.length - kept.length, total: pagination.total_Count ?? null, last };
    if (last) return;
  }
}
