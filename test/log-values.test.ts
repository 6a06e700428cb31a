/**
 * The log file holds ids, numbers, codes and reasons, never a customer's field values: after syncs over
 * HTTP against the emulators (a Debug sync at debug level, a customer without CustomerNumber whose
 * error names it, a bulk run filtered by an email address) and a prompt-lab trial as a real process,
 * neither the connector's log nor the CLI's holds the customers' names, emails or comments.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_CUSTOMERS, type SampleCustomer } from '../emulators/sample-customers.js';
import { openConnector } from '../src/app/connector.js';
import { createLogger } from '../src/shared/logger.js';
import { createRedactor } from '../src/shared/redact.js';
import { runBulk } from '../src/triggers/bulk/run-bulk.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { runCli } from './helpers/cli.js';
import { startHarness, type Harness } from './helpers/harness.js';

const customers: SampleCustomer[] = [
  { customer_number: 'LOGV-4410', first_name: 'Ottoline', last_name: 'Vexworth', email_address: 'ottoline.vexworth@logs.example', comment: 'Owns a lighthouse in Cornwall.', categories: ['Retail'] },
  { customer_number: null, first_name: 'Percival', last_name: 'Nonumberby', email_address: 'percival.nonumberby@logs.example', comment: 'Never gave a number.' },
];
const VALUES = ['Ottoline', 'Vexworth', 'ottoline.vexworth@logs.example', 'lighthouse in Cornwall', 'Percival', 'Nonumberby', 'percival.nonumberby@logs.example', 'Never gave a number'];

let h: Harness | undefined;
afterAll(async () => h?.close());

describe('the log file', () => {
  it('holds no field values after syncs, a debug sync, a filtered bulk run and a trial; ids and reasons stay', async () => {
    h = await startHarness({ ipaas: { customers: [...SAMPLE_CUSTOMERS, ...customers] } });
    const file = path.join(h.dir, 'connector.log');
    const logger = createLogger({ level: 'debug', file, redact: createRedactor(h.loaded.secrets), instance: 'test-1' });
    const c = await openConnector(h.loaded, { logger });
    let percivalId: string;
    try {
      const r = await runSync(c, [{ customerNumber: 'LOGV-4410' }], { trigger: { source: 'manual', debug: true } });
      expect(r.synced).toBe(1);
      percivalId = String(SAMPLE_CUSTOMERS.length + 2);
      const failed = await runSync(c, [{ id: percivalId }], { trigger: { source: 'manual' } });
      expect(failed.results[0]!.attempt.errorMessage).toContain('Percival Nonumberby'); // the sync log has it, the log file must not
      await runBulk(c, { params: { mode: 'direct', force: true, filter: { EmailAddress: 'ottoline.vexworth@logs.example' } } });
    } finally {
      await c.close();
    }
    const trial = await runCli(['try', 'LOGV-4410', '--yes'], { cwd: h.dir, env: h.env });
    expect(trial.code, trial.stderr).toBe(0);

    const cliLog = path.join(h.dir, 'data/ipaas-openai.log');
    expect(existsSync(cliLog)).toBe(true);
    const text = readFileSync(file, 'utf8') + readFileSync(cliLog, 'utf8');
    for (const v of VALUES) expect(text.includes(v), `"${v}" is in the log file`).toBe(false);

    // What an operator needs is still there: ids, outcomes, codes and reasons.
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'sync done' && l.customerNumber === 'LOGV-4410')).toBeDefined();
    expect(lines.find((l) => l.msg === 'sync failed' && l.customerId === percivalId)).toMatchObject({ error: 'MISSING_CUSTOMER_NUMBER', reason: expect.stringMatching(/no CustomerNumber/) });
    expect(lines.find((l) => String(l.msg).startsWith('debug: request sent to OpenAI'))).toMatchObject({ level: 'debug', jobId: expect.any(Number) });
    expect(lines.find((l) => l.msg === 'bulk run started')).toMatchObject({ filterFields: ['EmailAddress'] });
    expect(lines.find((l) => l.msg === 'prompt lab: trial call')).toMatchObject({ ref: 'LOGV-4410' });
  });
});
