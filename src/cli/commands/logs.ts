import { openStorage } from '../../store/open-storage.js';
import { createRedactor } from '../../shared/redact.js';
import type { Outcome, Storage, StoredAttempt, StoredTrialAttempt } from '../../store/ports.js';
import { messageLines } from './logs-messages.js';
import { ConnectorError } from '../../shared/errors.js';
import { resolveConfig, usd, type CommandIO, type CommonOptions } from '../io.js';

export interface LogsOptions extends CommonOptions {
  customerNumber?: string | undefined;
  outcome?: Outcome | undefined;
  limit?: number | undefined;
  /** Show one attempt whole: request, response, fields written. */
  attempt?: number | undefined;
  /** The prompt lab's trial calls instead of syncs. */
  trials?: boolean;
  /** The inbound OpenAI webhooks (Message records) instead of syncs. */
  messages?: boolean;
}

/** A failed try the queue makes again says so (RETRYING, and when), so it is not read as a final failure. */
function outcomeText(a: StoredAttempt): string {
  const tries = a.tryNumber ? `try ${a.tryNumber}${a.maxTries ? ` of ${a.maxTries}` : ''}` : '';
  if (a.outcome === 'failed' && a.nextTryAt) return `RETRYING (${tries}, next at ${a.nextTryAt})`;
  return a.outcome === 'failed' && tries ? `FAILED (${tries})` : a.outcome.toUpperCase();
}

function line(a: StoredAttempt): string {
  const who = a.customerNumber ?? a.requestedRef;
  // Any paid attempt shows what it cost (a rejected answer, a write that failed after the call), not only synced ones.
  const tokens = a.inputTokens || a.outputTokens ? ` ${a.inputTokens}/${a.outputTokens} tok ${usd(a.costUsd)}` : '';
  const why = a.outcome === 'synced' ? '' : ` ${a.errorCode ? `[${a.errorCode}] ` : ''}${a.errorMessage ?? ''}`;
  return `#${a.id} ${a.startedAt} ${a.trigger.padEnd(7)} ${who} ${outcomeText(a)}${tokens} ${Math.round(a.totalMs)}ms${a.instance ? ` on ${a.instance}` : ''}${a.promptVersion ? ` prompt ${a.promptVersion}` : ''}${why}`;
}

function trialLine(t: StoredTrialAttempt): string {
  const who = t.customerNumber ?? t.requestedRef;
  const tokens = t.inputTokens || t.outputTokens ? ` ${t.inputTokens}/${t.outputTokens} tok ${usd(t.costUsd)}` : '';
  return `trial #${t.id} ${t.startedAt} ${t.trialId} ${t.variant.padEnd(9)} prompt ${t.promptVersion} ${who} ${t.outcome.toUpperCase()}${tokens}${t.errorMessage ? ` ${t.errorMessage}` : ''}`;
}

async function promptLine(store: Storage, version: string | null | undefined): Promise<string[]> {
  if (!version) return [];
  const v = await store.prompts.get(version);
  return [`Prompt version ${version}:`, `  ${(v?.text ?? '(text not kept)').replace(/\n/g, '\n  ')}`];
}

function detail(a: StoredAttempt): string[] {
  const out = [line(a)];
  if (a.errorFix) out.push(`Fix: ${a.errorFix}`);
  if (a.request) out.push('Request sent to OpenAI:', JSON.stringify(a.request, null, 2));
  if (a.response) out.push('Response:', JSON.stringify(a.response, null, 2));
  if (a.answer) out.push('Parsed answer:', JSON.stringify(a.answer, null, 2));
  if (Array.isArray(a.writes)) {
    out.push('Fields written (before -> after):');
    for (const w of a.writes as Array<{ field: string; before: string | null; after: string | null; skipped?: string }>) {
      out.push(`  ${w.field}: ${JSON.stringify(w.before)} -> ${w.skipped ? `(unchanged: ${w.skipped})` : JSON.stringify(w.after)}`);
    }
  }
  out.push(`Timings: load ${a.loadMs ?? '-'} ms, OpenAI ${a.openaiMs ?? '-'} ms, write ${a.writeMs ?? '-'} ms, total ${a.totalMs} ms`);
  return out;
}

/** `ipaas-openai logs [CustomerNumber]`: what happened to each record, newest first. */
export async function logsCommand(options: LogsOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const store = await openStorage(loaded.config.store, { redact: createRedactor(loaded.secrets), account: loaded.config.ipaas.baseUrl });
  try {
    if (options.attempt !== undefined) {
      const a = await store.log.get(options.attempt);
      if (!a) throw new ConnectorError('INVALID_INPUT', `No sync attempt #${options.attempt} in ${store.location}.`, { fix: 'List attempts with `ipaas-openai logs`.' });
      if (options.json) io.out(JSON.stringify({ ...a, prompt: a.promptVersion ? await store.prompts.get(a.promptVersion) : null }, null, 2));
      else for (const l of [...detail(a), ...(await promptLine(store, a.promptVersion))]) io.out(l);
      return 0;
    }
    if (options.messages) {
      const page = await store.messages.list({ limit: options.limit ?? 20 });
      if (options.json) io.out(JSON.stringify(page.items, null, 2));
      else for (const l of messageLines(page, store.location)) io.out(l);
      return 0;
    }
    if (options.trials) {
      const trials = await store.trials.list({ customerNumber: options.customerNumber, limit: options.limit ?? 20 });
      if (options.json) io.out(JSON.stringify(trials, null, 2));
      else if (trials.length === 0) io.out(`No prompt-lab trials${options.customerNumber ? ` for ${options.customerNumber}` : ''} in ${store.location}.`);
      else for (const t of trials) io.out(trialLine(t));
      return 0;
    }
    const attempts = await store.log.list({ customerNumber: options.customerNumber, outcome: options.outcome, limit: options.limit ?? 20 });
    if (options.json) io.out(JSON.stringify(attempts, null, 2));
    else if (attempts.length === 0) io.out(`No sync attempts${options.customerNumber ? ` for ${options.customerNumber}` : ''} in ${store.location}.`);
    else {
      io.out(`${attempts.length} sync attempt${attempts.length === 1 ? '' : 's'} (tries, newest first; a record retried is listed once per try):`);
      for (const a of attempts) io.out(line(a));
      io.out(`Details of one attempt: ipaas-openai logs --attempt <#>`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
