/**
 * Query parsing shared by the list endpoints (GET /customers/v2/Customers, GET /products/v2/Products):
 * ids, paging (`pageNumber`, `pageSize`, the `X-Pagination` header) and the `action=equals|contains`
 * filters on PascalCase field names, so every list pages and filters alike.
 */
import { IpaasHttpError } from './errors.js';
import type { IpaasPagination } from './types.js';

export type Query = Record<string, string | string[] | undefined>;

export interface ListQuery<F extends string> {
  action: 'equals' | 'contains';
  filters: { field: F; value: string }[];
  updatedSince?: number; // epoch ms
}

export function single(q: Query, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

export function parseId(raw: string, what: string): number {
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
    throw new IpaasHttpError(400, `${what} id '${raw}' is not a valid id.`, [{ field: 'id', message: `'${raw}' is not a valid id.` }]);
  }
  return Number(raw);
}

function positiveInt(q: Query, key: string): number | undefined {
  const raw = single(q, key);
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) {
    throw new IpaasHttpError(400, `Query parameter ${key} '${raw}' must be a positive integer.`, [
      { field: key, message: `${key} must be a positive integer.` },
    ]);
  }
  return Number(raw);
}

/**
 * `filterFields` maps lower-cased PascalCase names to JSON fields (e.g. customernumber ->
 * customer_number); `names` lists them for the message when an action has nothing to filter on.
 */
export function parseListQuery<F extends string>(q: Query, filterFields: Readonly<Record<string, F>>, names: string): ListQuery<F> {
  const actionRaw = single(q, 'action');
  let action: ListQuery<F>['action'] = 'equals';
  if (actionRaw !== undefined) {
    const a = actionRaw.toLowerCase();
    if (a !== 'equals' && a !== 'contains') {
      throw new IpaasHttpError(400, `Filter action '${actionRaw}' is not supported; use equals or contains.`, [
        { field: 'action', message: 'action must be equals or contains.' },
      ]);
    }
    action = a;
  }
  const filters: ListQuery<F>['filters'] = [];
  for (const key of Object.keys(q)) {
    const field = (filterFields as Record<string, F | undefined>)[key.toLowerCase()];
    const value = single(q, key);
    if (field && value !== undefined) filters.push({ field, value });
  }
  if (actionRaw !== undefined && filters.length === 0) {
    throw new IpaasHttpError(400, `Filter action '${actionRaw}' needs a field to filter on (${names}).`);
  }
  const query: ListQuery<F> = { action, filters };
  const since = single(q, 'updatedSince');
  if (since !== undefined && since !== '') {
    const t = Date.parse(since);
    if (Number.isNaN(t)) {
      throw new IpaasHttpError(400, `Query parameter updatedSince '${since}' is not a valid ISO-8601 datetime.`, [
        { field: 'updatedSince', message: 'updatedSince must be an ISO-8601 datetime.' },
      ]);
    }
    query.updatedSince = t;
  }
  return query;
}

/** Does a record match the query? `read` gives a filter field's stored value. */
export function matchesQuery<F extends string>(q: ListQuery<F>, updatedDatetime: string, read: (field: F) => string | null): boolean {
  if (q.updatedSince !== undefined && Date.parse(updatedDatetime) < q.updatedSince) return false;
  return q.filters.every(({ field, value }) => {
    const stored = (read(field) ?? '').toLowerCase();
    const wanted = value.toLowerCase();
    return q.action === 'equals' ? stored === wanted : stored.includes(wanted);
  });
}

/** The requested page: the query can lower the page size, never raise it above the configured one. */
export function pageOf(q: Query, maxPageSize: number): { pageNumber: number; pageSize: number; offset: number } {
  const pageNumber = positiveInt(q, 'pageNumber') ?? 1;
  const pageSize = Math.min(positiveInt(q, 'pageSize') ?? maxPageSize, maxPageSize);
  return { pageNumber, pageSize, offset: (pageNumber - 1) * pageSize };
}

/** The JSON of the `X-Pagination` header ([C] `{current_Page, total_Pages, ...}`). */
export function pagination(pageNumber: number, pageSize: number, total: number): IpaasPagination {
  const totalPages = Math.ceil(total / pageSize);
  return {
    current_Page: pageNumber,
    total_Pages: totalPages,
    page_Size: pageSize,
    total_Count: total,
    has_Previous: pageNumber > 1,
    has_Next: pageNumber < totalPages,
  };
}
