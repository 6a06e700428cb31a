import { readFileSync } from 'node:fs';
import { openConnector, rateLimiterFor } from '../../app/connector.js';
import type { RecordRef } from '../../pipeline/load-record.js';
import { runSync, type RunSummary, type SyncResult } from '../../triggers/manual-sync.js';
import { ConnectorError } from '../../shared/errors.js';
import { resolveConfig, usd, type CommandIO, type CommonOptions } from '../io.js';

export interface SyncOptions extends CommonOptions {
  ids: string[];
  /** Treat the ids as iPaaS.com customer ids instead of CustomerNumbers. */
  byId?: boolean;
  /** A file of ids, one per line or separated by commas (what one pastes into Manual Sync). */
  file?: string | undefined;
  concurrency?: number | undefined;
  debug?: boolean;
}

export function parseIdList(text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

export function describeResult(r: SyncResult): string {
  const a = r.attempt;
  const who = a.customerNumber ?? a.requestedRef;
  if (a.outcome === 'synced') {
    const written = (a.writes as Array<{ field: string; skipped?: string }> | null)?.filter((w) => !w.skipped).map((w) => w.field).join(', ');
    return `✔ ${who} synced: wrote ${written} (${a.inputTokens} in${a.cachedTokens ? ` [${a.cachedTokens} cached]` : ''} / ${a.outputTokens} out tokens, ${usd(a.costUsd)}, ${Math.round(a.totalMs)} ms)`;
  }
  if (a.outcome === 'skipped') return `- ${who} skipped: ${a.errorMessage}`;
  return `✖ ${who} failed: ${a.errorMessage}${a.errorFix ? `\n    Fix: ${a.errorFix}` : ''}`;
}

export function describeSummary(s: RunSummary, dbPath: string): string[] {
  const lines = [
    `${s.synced} synced, ${s.failed} failed, ${s.skipped} skipped · tokens ${s.inputTokens} in (${s.cachedTokens} cached) / ${s.outputTokens} out · cost ${usd(s.costUsd)}`,
  ];
  if (s.resumed) lines.push('Continued the interrupted run of these customers: what it had written was not sent again.');
  if (s.awaitingReview) lines.push(`${s.awaitingReview} answer${s.awaitingReview === 1 ? '' : 's'} await${s.awaitingReview === 1 ? 's' : ''} review: nothing is written until approved (\`ipaas-openai review list\`, then \`review approve <job...>\` or \`review reject <job...> --reason ...\`).`);
  if (s.waiting) lines.push(`${s.waiting} record${s.waiting === 1 ? '' : 's'} still queued for a later retry: a running \`ipaas-openai serve\` or \`ipaas-openai retry --run\` finishes them.`);
  if (s.createdCustomFields.length) lines.push(`Created custom fields in iPaaS.com: ${s.createdCustomFields.join(', ')}`);
  lines.push(`Sync log: ${dbPath} (see \`ipaas-openai logs\`)`);
  if (s.failed) lines.push('Failed records keep their reason in the log; re-run them with `ipaas-openai sync <CustomerNumber...>` once fixed.');
  return lines;
}

/** `ipaas-openai sync <CustomerNumber...>`: a manual sync. Exit code 1 when any record failed. */
export async function syncCommand(options: SyncOptions, io: CommandIO): Promise<number> {
  const ids = [...options.ids, ...(options.file ? parseIdList(readFileSync(options.file, 'utf8')) : [])];
  if (ids.length === 0) throw new ConnectorError('INVALID_INPUT', 'No customers named.', { fix: 'Give CustomerNumbers (e.g. `ipaas-openai sync CUST-10045`), --id <iPaaS id...>, or --file <list>.' });
  const refs: RecordRef[] = ids.map((id) => ({ entity: options.entity, ...(options.byId ? { id } : { customerNumber: id }) }));
  const loaded = resolveConfig(io, options);
  // Paced like serve: the limiter reads OpenAI's rate-limit headers through the SDK's fetch.
  const limiter = rateLimiterFor(loaded.config, options.concurrency ?? loaded.config.sync.concurrency);
  const connector = await openConnector(loaded, { limiter, fresh: !!options.fresh });
  if (connector.store.notice) io.err(`warning: ${connector.store.notice}`);
  try {
    const summary = await runSync(connector, refs, {
      trigger: { source: 'manual', debug: !!options.debug },
      event: 'Manual',
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      onResult: options.json ? undefined : (r) => io.out(describeResult(r)),
      onReview: options.json ? undefined : (jobId) => io.out(`… job ${jobId}: answered; awaits review before anything is written`),
    });
    if (options.json) {
      io.out(JSON.stringify({ ...summary, results: summary.results.map((r) => ({ ...r.attempt, request: undefined, response: undefined })), store: connector.store.location }, null, 2));
    } else {
      for (const l of describeSummary(summary, connector.store.location)) io.out(l);
    }
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await connector.close();
  }
}
