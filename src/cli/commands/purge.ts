import { createRedactor } from '../../shared/redact.js';
import { ConnectorError, describeError } from '../../shared/errors.js';
import { openStorage } from '../../store/open-storage.js';
import { isTraceless, type BodyCounts, type CustomerTraces } from '../../store/retention-port.js';
import type { Storage } from '../../store/ports.js';
import { describeAge, parseAge } from '../age.js';
import { confirm, resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

export interface PurgeOptions extends CommonOptions {
  /** Bodies finished longer ago than this (`30d`, `12h`); default log.retainDays, unless only --customer is given. */
  olderThan?: string | undefined;
  /** Erase every trace of this customer. */
  customer?: string | undefined;
  yes?: boolean;
  /** Whether a person can answer the confirmation (stdin is a terminal). */
  interactive?: boolean;
}

interface Plan {
  bodies?: { olderThan: string; before: string; counts: BodyCounts } | undefined;
  customer?: CustomerTraces | undefined;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function describeTraces(t: CustomerTraces): string {
  const ids = t.customerIds.length ? ` (iPaaS.com id ${t.customerIds.join(', ')})` : '';
  return `customer ${t.customerNumber}${ids}: ${plural(t.attempts, 'sync attempt')} (kept as anonymous cost rows: tokens, cost, outcome, times), ${plural(t.trials, 'trial attempt')} (the same), ${plural(t.records, 'record')}, ${plural(t.jobs, 'job')} with their stored answers, ${plural(t.syncState, 'sync state', 'sync states')} (values written), ${plural(t.webhookEvents, 'webhook delivery', 'webhook deliveries')}, ${plural(t.templates, 'request template')} of its own`;
}

export function describeBodies(b: NonNullable<Plan['bodies']>, counts = b.counts): string {
  return `bodies older than ${b.olderThan} (finished before ${b.before}): ${plural(counts.attempts, 'sync attempt')}, ${plural(counts.trials, 'trial attempt')}, ${plural(counts.jobs, 'finished job')}`;
}

async function estimate(store: Storage, options: PurgeOptions, retainDays: number, now: number): Promise<Plan> {
  const customer = options.customer?.trim();
  if (options.customer !== undefined && !customer) throw new ConnectorError('INVALID_INPUT', '--customer was given no CustomerNumber.', { fix: 'Name the customer, e.g. --customer CUST-10045.' });
  // Only --customer: that customer alone. Otherwise the bodies older than --older-than, by default log.retainDays.
  const ageMs = options.olderThan !== undefined ? parseAge(options.olderThan) : customer ? undefined : retainDays * 24 * 60 * 60 * 1000;
  const plan: Plan = {};
  if (customer) {
    plan.customer = await store.retention.findCustomer(customer);
    if (isTraceless(plan.customer)) {
      throw new ConnectorError('INVALID_INPUT', `The database ${store.location} holds nothing about customer ${customer}: no sync attempt, record, job, sync state or trial names it.`, {
        fix: 'Check the CustomerNumber: it is matched exactly (`ipaas-openai logs` lists the customers synced). A customer erased before has nothing left to erase.',
      });
    }
  }
  if (ageMs !== undefined) {
    const before = new Date(now - ageMs).toISOString();
    plan.bodies = { olderThan: describeAge(ageMs), before, counts: await store.retention.countBodies(before) };
  }
  return plan;
}

/**
 * `ipaas-openai purge`: bodies older than an age (log.retainDays by default), and/or every trace of one
 * customer; estimates, asks, erases, then makes the freed space unreadable in the database's files.
 */
export async function purgeCommand(options: PurgeOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const store = await openStorage(loaded.config.store, { redact: createRedactor(loaded.secrets), account: loaded.config.ipaas.baseUrl });
  try {
    const plan = await estimate(store, options, loaded.config.log.retainDays, Date.now());
    if (options.json) io.out(JSON.stringify({ database: store.location, estimate: plan }));
    else {
      io.out(`Database: ${store.location}`);
      if (plan.customer) io.out(`To erase: ${describeTraces(plan.customer)}.`);
      if (plan.bodies) io.out(`To purge: ${describeBodies(plan.bodies)}; request, response, answer, fields written and error message go, tokens, cost, outcome and error code stay.`);
      io.out(`Then the freed space is made unreadable (${store.engine === 'sqlite' ? 'SQLite: WAL checkpoint and VACUUM, which rewrites the whole file' : 'PostgreSQL: VACUUM of the tables'}).`);
    }
    if (!options.yes) {
      if (!options.interactive) throw new ConnectorError('INVALID_INPUT', 'Not confirmed: this is not a terminal.', { fix: 'Add --yes to purge without asking (scripts, CI).' });
      if (!(await confirm(io, 'Erase this for good? [y/N] '))) {
        io.out('Nothing erased.');
        return 0;
      }
    }
    const erased = plan.customer ? await store.retention.eraseCustomer(plan.customer.customerNumber) : undefined;
    const purged = plan.bodies ? await store.retention.purgeBodies(plan.bodies.before) : undefined;
    if (!options.json) {
      if (erased) io.out(`Erased ${describeTraces(erased)}.`);
      if (purged && plan.bodies) io.out(`Purged ${describeBodies(plan.bodies, purged)}.`);
    }
    let scrubbed: string[];
    try {
      scrubbed = await store.retention.scrubFreedSpace();
    } catch (err) {
      // The rows are gone; what failed is making their old bytes unreadable. Said as a failed check (exit 1).
      const e = describeError(err);
      if (options.json) io.out(JSON.stringify({ erased, purged, scrubbed: null, error: { code: e.code, message: e.message, fix: e.fix } }));
      io.err(`error: ${e.message}`);
      if (e.fix) io.err(`Fix: ${e.fix}`);
      return 1;
    }
    if (options.json) io.out(JSON.stringify({ erased, purged, scrubbed }));
    else for (const step of scrubbed) io.out(`Freed space: ${step}.`);
    return 0;
  } finally {
    await store.close();
  }
}
