import cliProgress from 'cli-progress';
import { releaseTokenizer } from '../../openai/token-counter.js';
import { parseFilters, type BulkParams } from '../../triggers/bulk/bulk-params.js';
import { estimateBulk, type BulkEstimate } from '../../triggers/bulk/estimate-bulk.js';
import { runBulk, type BulkProgress, type BulkSummary } from '../../triggers/bulk/run-bulk.js';
import { ConnectorError } from '../../shared/errors.js';
import { openConnector, rateLimiterFor } from '../../app/connector.js';
import { confirm, resolveConfig, usd, type CommandIO, type CommonOptions } from '../io.js';

export interface SyncAllOptions extends CommonOptions {
  since?: string | undefined;
  filter?: string[] | undefined;
  where?: string | undefined;
  batch?: boolean;
  /** `flex`: direct calls at OpenAI's flex tier. */
  tier?: 'default' | 'flex' | undefined;
  yes?: boolean;
  force?: boolean;
  concurrency?: number | undefined;
  /** Whether a person can answer the confirmation (stdin is a terminal). */
  interactive?: boolean;
  /** Draw a live bar (stdout is a terminal); otherwise a progress line every few seconds. */
  tty?: boolean;
  signal?: AbortSignal;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number) => `${Math.round(x * 100)}%`;

export function describeEstimate(e: BulkEstimate, mode: 'direct' | 'flex' | 'batch'): string[] {
  // Counted when the first page was every customer; otherwise say it is the sample's share, scaled.
  const about = e.exact ? '' : 'about ';
  const parts = [
    e.alreadyDone ? `${n(e.alreadyDone)} already done in the interrupted run (not sent again)` : '',
    e.unchanged ? `${about}${n(e.unchanged)} unchanged since their last sync (no call; --force sends them)` : '',
    e.excludedByFilter ? `${about}${n(e.excludedByFilter)} skipped by the collection's filter` : '',
    e.withoutCustomerNumber ? `${about}${n(e.withoutCustomerNumber)} without CustomerNumber will fail unsent` : '',
  ].filter(Boolean);
  const basis = e.exact ? `all ${n(e.sampleSize)} looked at` : `shares from the first ${n(e.sampleSize)}`;
  return [
    `Estimate for ${n(e.records)} customers: ${about}${n(e.toSend)} to send${parts.length ? `; ${parts.join('; ')}` : ''} (${basis}; tokens counted with o200k_base on ${e.sampled} real requests):`,
    `  input  ~${n(e.inputTokensPerRecord)} tokens/record, ${n(e.totalInputTokens)} in all; cached share ~${pct(e.cachedShare)}${e.cachedShare === 0 ? ' (the static prompt part is under 1,024 tokens)' : ''}`,
    `  output ~${n(e.outputTokensPerRecord)} tokens/record (from the ${e.outputSource}), ${n(e.totalOutputTokens)} in all`,
    `  cost with ${e.model}: direct ${usd(e.directUsd)} · flex ${usd(e.flexUsd)} (direct calls at Batch prices, slower) · batch ${usd(e.batchUsd)} (within 24 h)${mode === 'batch' ? '  <- this run: batch' : mode === 'flex' ? '  <- this run: flex' : '  <- this run: direct (--tier flex or --batch halve it)'}`,
  ];
}

const STOPPING_NOTE = ' · stopping after the records in flight (Ctrl-C again to quit)';

function progressLine(p: BulkProgress): string {
  const total = p.total ?? p.enumerated;
  const eta = p.etaSeconds === null ? '?' : p.etaSeconds < 90 ? `${Math.round(p.etaSeconds)}s` : `${Math.round(p.etaSeconds / 60)}m`;
  const cached = p.inputTokens ? ` (${pct(p.cachedTokens / p.inputTokens)} cached)` : '';
  return `${n(p.done)}/${n(total)} done · ${p.perSecond.toFixed(1)}/s · ETA ${eta} · tokens ${n(p.inputTokens)} in${cached} / ${n(p.outputTokens)} out · ${usd(p.costUsd)} · failed ${n(p.counts.failed)}${p.counts.held ? ` · held ${n(p.counts.held)}` : ''}${p.openBatches ? ` · batches open ${p.openBatches} (${n(p.counts.batched)} lines)` : ''}`;
}

export function describeSummary(s: BulkSummary): string[] {
  const c = s.counts;
  const head = s.finished ? 'Finished' : s.interrupted ? 'Interrupted' : 'Stopped';
  const lines = [
    `${head}: ${n(c.written)} written, ${n(c.skipped)} skipped (unchanged or filtered), ${n(c.failed)} failed${c.held ? `, ${n(c.held)} held` : ''}${c.review ? `, ${n(c.review)} awaiting review` : ''} of ${n(s.total ?? s.enumerated)} · ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `Tokens: ${n(s.inputTokens)} in (${s.inputTokens ? pct(s.cachedTokens / s.inputTokens) : '0%'} cached) / ${n(s.outputTokens)} out · cost ${usd(s.costUsd)}`,
  ];
  if (s.stoppedReason) lines.push(s.stoppedReason);
  if (!s.finished) lines.push(`Run the same command again to continue run ${s.runId}: finished records are not sent again.`);
  if (c.failed) lines.push('Failed records keep their reason: `ipaas-openai logs --outcome failed`; re-run them with `ipaas-openai retry --run`.');
  return lines;
}

/** `ipaas-openai sync --all`: estimate, confirm, then backfill with a live progress bar. */
export async function syncAllCommand(options: SyncAllOptions, io: CommandIO): Promise<number> {
  let filter;
  try {
    filter = options.filter?.length ? parseFilters(options.filter, options.entity) : undefined;
  } catch (err) {
    throw new ConnectorError('INVALID_INPUT', (err as Error).message);
  }
  if (options.since && Number.isNaN(Date.parse(options.since))) throw new ConnectorError('INVALID_INPUT', `--since "${options.since}" is not a date.`, { fix: 'Use ISO form, e.g. --since 2026-01-31 or 2026-01-31T12:00:00Z.' });
  const params: BulkParams = {
    mode: options.batch ? 'batch' : 'direct',
    since: options.since ? new Date(options.since).toISOString() : undefined,
    filter,
    where: options.where,
    force: options.force,
    ...(options.tier === 'flex' ? { tier: 'flex' as const } : {}),
    ...(options.entity && options.entity !== 'customer' ? { entity: options.entity } : {}),
  };
  if (options.batch && options.tier === 'flex') throw new ConnectorError('INVALID_INPUT', '--batch and --tier flex exclude each other.', { fix: 'Choose one: --batch (OpenAI Batch API, within 24 h) or --tier flex (direct calls at Batch prices, slower).' });
  const loaded = resolveConfig(io, options);
  const limiter = rateLimiterFor(loaded.config, options.concurrency ?? loaded.config.jobs.concurrency);
  const connector = await openConnector(loaded, { limiter, fresh: !!options.fresh });
  if (connector.store.notice) io.err(`warning: ${connector.store.notice}`);
  let bar: cliProgress.SingleBar | undefined;
  let last: BulkProgress | undefined;
  // The bar owns the terminal's last line (it restores the cursor there when it stops): the note goes into it.
  const onStop = () => {
    if (bar?.isActive && last) bar.update(last.done, { line: `${progressLine(last)}${STOPPING_NOTE}` });
    else io.err('Stopping after the records in flight (Ctrl-C again to quit at once)…');
  };
  options.signal?.addEventListener('abort', onStop, { once: true });
  try {
    // Every page is read to count (not extrapolate) who is sent: on a large account that takes a while, so say how far it is.
    let lastCount = Date.now();
    let estimate: BulkEstimate;
    try {
      estimate = await estimateBulk(loaded.config, connector.ipaas, connector.store, params, {
        signal: options.signal,
        onPage: (looked, total) => {
          if (options.json || Date.now() - lastCount < 2000) return;
          lastCount = Date.now();
          io.err(`Counting for the estimate: ${n(looked)}${total === null ? '' : ` of ${n(total)}`} records looked at…`);
        },
      });
    } catch (err) {
      // Ctrl-C while counting: nothing was sent or queued; say so and stop as an interrupted command does.
      if (!(err instanceof ConnectorError && err.code === 'INTERRUPTED')) throw err;
      io.err(err.message);
      return 130;
    } finally {
      // Counting is done: the tokenizer's thread and its ~65 MB go now, not with the backfill's end.
      await releaseTokenizer();
    }
    if (options.json) io.out(JSON.stringify({ estimate }));
    else for (const l of describeEstimate(estimate, params.mode === 'direct' && params.tier === 'flex' ? 'flex' : params.mode)) io.out(l);
    if (estimate.exact && estimate.toSend === 0) {
      // Counted, not guessed: nothing would be sent or paid for, so there is nothing to confirm.
      if (!options.json) io.out('Nothing to send to OpenAI: every selected customer is done, unchanged, filtered or without a CustomerNumber.');
    } else if (!options.yes) {
      if (!options.interactive) throw new ConnectorError('INVALID_INPUT', 'Not confirmed: this is not a terminal.', { fix: 'Add --yes to run without asking (scripts, CI).' });
      const cost = params.mode === 'batch' ? estimate.batchUsd : params.tier === 'flex' ? estimate.flexUsd : estimate.directUsd;
      if (!(await confirm(io, `Send ${estimate.exact ? '' : 'about '}${n(estimate.toSend)} customers to OpenAI (${params.mode}, ${usd(cost)})? [y/N] `, options.signal))) {
        io.out('Nothing sent.');
        return 0;
      }
    }
    bar = options.tty && !options.json ? new cliProgress.SingleBar({ format: ' {bar} {line}', hideCursor: true, barsize: 24 }, cliProgress.Presets.shades_classic) : undefined;
    // Without a terminal, a line every 5 s from the start: a run shorter than that prints only its summary.
    let lastLine = Date.now();
    let summary: BulkSummary;
    try {
      summary = await runBulk(connector, {
        params,
        concurrency: options.concurrency,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => {
          const total = p.total ?? p.enumerated;
          last = p;
          if (bar) {
            const line = `${progressLine(p)}${options.signal?.aborted ? STOPPING_NOTE : ''}`;
            if (!bar.isActive) bar.start(Math.max(total, 1), p.done, { line });
            bar.setTotal(Math.max(total, 1));
            bar.update(p.done, { line });
          } else if (Date.now() - lastLine >= 5000 && !options.json) {
            lastLine = Date.now();
            io.out(progressLine(p));
          }
        },
      });
    } finally {
      // However the run ends (Ctrl-C, an error), the bar gives the terminal back: cursor shown, line ended.
      if (bar?.isActive) bar.stop();
    }
    // The run's mode is the path (direct or batch); the tier the direct calls asked for goes beside it.
    const tier = params.mode === 'direct' ? (params.tier ?? loaded.config.openai.serviceTier) : undefined;
    if (options.json) io.out(JSON.stringify({ summary: tier ? { ...summary, tier } : summary }));
    else for (const l of describeSummary(summary)) io.out(l);
    if (summary.interrupted) return 130;
    return summary.counts.failed > 0 || !summary.finished ? 1 : 0;
  } finally {
    options.signal?.removeEventListener('abort', onStop);
    await connector.close();
  }
}
