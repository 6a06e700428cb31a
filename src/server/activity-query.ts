import { z } from 'zod';
import { ATTEMPT_OUTCOMES, type AttemptOutcome } from '../store/ports.js';
import { isoDate, paging } from './parse-input.js';

const ref = (what: string) => z.string().trim().min(1, `give the ${what}`).max(200, `a ${what} is at most 200 characters`);

/** The activity list's filters: the same for the paged list and the CSV export. */
export const activityFilter = z.object({
  q: z.string().trim().max(200, 'search with at most 200 characters').optional(),
  customerNumber: ref('CustomerNumber').optional(),
  customerId: ref('iPaaS.com customer id').optional(),
  requestedRef: ref('reference as it was asked for').optional(),
  outcome: z.enum(ATTEMPT_OUTCOMES as [AttemptOutcome, ...AttemptOutcome[]], { error: `give one of ${ATTEMPT_OUTCOMES.join(', ')}` }).optional(),
  trigger: z.string().trim().regex(/^[a-z][a-z:-]{0,39}$/, 'give a trigger label such as manual, webhook:updated, bulk or retry (GET /api/activity/facets lists those seen)').optional(),
  errorCode: z.string().trim().regex(/^[A-Z][A-Z0-9_]{0,59}$/, 'give an error code such as API_REQUEST_FAILED (GET /api/activity/facets lists those seen)').optional(),
  since: isoDate.optional(),
  until: isoDate.optional(),
});

export const activityQuery = activityFilter.extend(paging(200, 25));
