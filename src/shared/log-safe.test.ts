import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { formatForIpaas } from '../mapping/map-to.js';
import { parseAnswer } from '../openai/parse-answer.js';
import { CUSTOMER, requireNumber, toRecord } from '../ipaas/entities.js';
import { ConnectorError, upstreamError } from './errors.js';
import { errorForLog, reasonForLog } from './log-safe.js';

/** The message and the log's reason of what `fn` throws. */
function both(fn: () => unknown): { message: string; reason: string | null } {
  try {
    fn();
  } catch (err) {
    const e = err as ConnectorError;
    return { message: e.message, reason: reasonForLog(e.code, e.message) };
  }
  throw new Error('did not throw');
}

const VALUE = 'Zelinda Quorrington <zelinda@erase-me.example>';

describe('reasons a log line may give: the kind of failure, never the values it quotes', () => {
  it('an upstream error keeps its status, type and code, not the text the service sent back', () => {
    const e = upstreamError({ service: 'ipaas', status: 400, upstreamMessage: `EmailAddress "${VALUE}" is not valid` });
    expect(e.message).toContain(VALUE);
    expect(reasonForLog(e.code, e.message)).toBe('iPaaS.com request failed. iPaaS.com answered status 400');
    const o = upstreamError({ service: 'openai', status: 400, type: 'invalid_request_error', upstreamCode: 'bad', upstreamMessage: `cannot process ${VALUE}` });
    expect(reasonForLog(o.code, o.message)).toBe('API request failed. OpenAI answered status 400, type invalid_request_error, code bad');
  });

  it('a customer without CustomerNumber is not named; invalid answers say what was wrong without the answer', () => {
    const missing = both(() => requireNumber(toRecord(CUSTOMER, { id: 6, customer_number: null, first_name: 'Zelinda', last_name: 'Quorrington' })));
    expect(missing.message).toContain('Zelinda Quorrington');
    expect(missing.reason).toBe('The customer has no CustomerNumber, so it was not sent to OpenAI.');

    const refusal = { output: [{ type: 'message', content: [{ type: 'refusal', refusal: `I will not profile ${VALUE}.` }] }], status: 'completed' };
    expect(both(() => parseAnswer('responses', refusal, z.object({}), 'C-1')).reason).toBe('OpenAI refused to answer');
    const notJson = { output: [{ type: 'message', content: [{ type: 'output_text', text: `- Name: ${VALUE}` }] }], status: 'completed' };
    expect(both(() => parseAnswer('responses', notJson, z.object({}), 'C-1')).reason).toBe('the answer is not valid JSON');
    const wrongType = both(() => formatForIpaas(VALUE, 'bool', 'C-1', 'Known To Film'));
    expect(wrongType.message).toContain(VALUE);
    expect(wrongType.reason).toBe('the answer for "Known To Film" must be TRUE or FALSE');
  });

  it('skip reasons and messages built from ids and config pass whole; an unknown kind of message is not logged', () => {
    expect(reasonForLog(null, 'No mapped input changed since the last sync')).toBe('No mapped input changed since the last sync');
    expect(reasonForLog('REQUEST_FIELD_NOT_FOUND', 'Request field not found. Known To Film does not exist in iPaaS.com.')).toContain('Known To Film');
    expect(reasonForLog('SOMETHING_NEW', VALUE)).not.toContain('Zelinda');
    expect(reasonForLog('INTERNAL', VALUE)).not.toContain('Zelinda');
    expect(reasonForLog('X', null)).toBeNull();
  });

  it('an internal error is logged by its name and where it was thrown, not by its message', () => {
    let err: unknown;
    try {
      JSON.parse(`{"name": ${VALUE}}`);
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).toContain('Zelinda');
    const logged = errorForLog(err);
    expect(logged.error).toBe('INTERNAL');
    expect(logged.reason).toMatch(/^SyntaxError at /);
    expect(logged.reason).not.toContain('Zelinda');
    expect(errorForLog(new ConnectorError('STORE_UNAVAILABLE', 'PostgreSQL at db does not answer.'))).toEqual({ error: 'STORE_UNAVAILABLE', reason: 'PostgreSQL at db does not answer.' });
  });
});
