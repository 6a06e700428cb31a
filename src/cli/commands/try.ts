import { readFileSync } from 'node:fs';
import { openConnector, rateLimiterFor } from '../../app/connector.js';
import type { RecordRef } from '../../pipeline/load-record.js';
import { estimateTrial, runTrial, sampleRecords, trialPlans, type TrialCustomerResult, type TrialEstimate, type TrialSummary } from '../../pipeline/trial.js';
import { ConnectorError } from '../../shared/errors.js';
import { confirm, resolveConfig, usd, type CommandIO, type CommonOptions } from '../io.js';

export interface TryOptions extends CommonOptions {
  numbers: string[];
  sample?: number | undefined;
  promptFile?: string | undefined;
  yes?: boolean;
  interactive?: boolean;
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');

/** One cell of the side-by-side table: one line, at most `w` characters. */
function cell(v: unknown, w: number): string {
  const s = v === null || v === undefined || v === '' ? '(empty)' : typeof v === 'string' ? v : JSON.stringify(v);
  const flat = s.replace(/\s+/g, ' ').trim();
  return (flat.length > w ? `${flat.slice(0, w - 1)}…` : flat).padEnd(w);
}

export function describeTrialEstimate(e: TrialEstimate): string {
  return `Trial: ${n(e.customers)} customers × ${e.variants} prompt${e.variants > 1 ? 's' : ''} = ${n(e.calls)} OpenAI calls, ~${n(e.inputTokens)} in / ~${n(e.outputTokens)} out tokens, about ${usd(e.costUsd)}. Nothing is written to iPaaS.com.`;
}

/** A customer's answers side by side: each field as iPaaS.com holds it now, then what each prompt would write. */
export function describeTrialCustomer(c: TrialCustomerResult): string[] {
  const who = `${c.customerNumber ?? c.ref}${c.name ? ` (${c.name})` : ''}`;
  const lines = [who];
  const failed = c.results.filter((r) => r.outcome !== 'answered');
  for (const r of failed) lines.push(`  ${r.variant} (${r.promptVersion}): ${r.outcome}: ${r.error?.message ?? ''}${r.error?.fix ? ` Fix: ${r.error.fix}` : ''}`);
  const answered = c.results.filter((r) => r.outcome === 'answered');
  if (answered.length === 0) return lines;
  const fields = [...new Set(answered.flatMap((r) => r.writes.map((w) => w.field)))];
  const W = 34;
  lines.push(`  ${'field'.padEnd(20)} ${'now'.padEnd(W)} ${answered.map((r) => `${r.variant} ${r.promptVersion}`.padEnd(W)).join(' ')}`);
  const fromAnswer = new Set(answered.flatMap((r) => r.answerTargets));
  for (const f of fields) {
    const now = answered.map((r) => r.writes.find((w) => w.field === f)).find(Boolean)?.before;
    const after = answered.map((r) => r.writes.find((w) => w.field === f)?.after);
    // Response metadata (date, id, prompt text) always differs between two calls: only answers are compared.
    const changes = fromAnswer.has(f) && after.some((a) => a !== now);
    const differ = fromAnswer.has(f) && after.length > 1 && after.some((a) => a !== after[0]);
    lines.push(`${differ ? '≠' : changes ? '~' : ' '} ${cell(f, 20)} ${cell(now, W)} ${after.map((a) => cell(a, W)).join(' ')}`);
  }
  lines.push(`  ${'tokens / cost'.padEnd(20)} ${''.padEnd(W)} ${answered.map((r) => cell(`${r.inputTokens} in / ${r.outputTokens} out · ${usd(r.costUsd)}`, W)).join(' ')}`);
  return lines;
}

export function describeTrialSummary(s: TrialSummary): string[] {
  const lines = [`${s.customers} customers, ${s.calls} OpenAI calls (${s.failed} failed) · tokens ${n(s.inputTokens)} in / ${n(s.outputTokens)} out · cost ${usd(s.costUsd)} · trial ${s.trialId}`];
  if (s.compared) {
    const per = Object.entries(s.compared.byField).map(([f, k]) => `${f} ${k}`).join(', ');
    lines.push(`Answers differ for ${s.compared.differing} of ${s.compared.customers} customers answered by both prompts (per field: ${per}).`);
  }
  lines.push('Nothing was written to iPaaS.com. ≠ the prompts disagree, ~ a sync would change the field. See the calls with `ipaas-openai logs --trials`.');
  return lines;
}

/** `ipaas-openai try`: the active PromptText (and a candidate) on the same customers, no write-back. */
export async function tryCommand(options: TryOptions, io: CommandIO, signal?: AbortSignal): Promise<number> {
  let candidate: string | undefined;
  if (options.promptFile) {
    try {
      candidate = readFileSync(options.promptFile, 'utf8');
    } catch (err) {
      throw new ConnectorError('INVALID_INPUT', `Cannot read the candidate PromptText ${options.promptFile}: ${(err as Error).message}`, { fix: 'Check the path given with --prompt-file (a relative path is read from the current folder).' });
    }
  }
  if (options.numbers.length && options.sample !== undefined) throw new ConnectorError('INVALID_INPUT', '--sample and CustomerNumbers exclude each other.', { fix: 'Name the customers, or ask for a random --sample N, not both.' });
  const loaded = resolveConfig(io, options);
  const limiter = rateLimiterFor(loaded.config, 4);
  const connector = await openConnector(loaded, { limiter });
  try {
    const plans = await trialPlans(loaded.config, connector.ipaas, candidate, options.entity);
    const refs: RecordRef[] = options.numbers.length ? options.numbers.map((customerNumber) => ({ entity: options.entity, customerNumber })) : await sampleRecords(connector.ipaas, options.sample ?? 5, options.entity);
    const estimate = await estimateTrial(connector, plans, refs);
    if (options.json) io.out(JSON.stringify({ estimate }));
    else io.out(describeTrialEstimate(estimate));
    if (!options.yes) {
      if (!options.interactive) throw new ConnectorError('INVALID_INPUT', 'Not confirmed: this is not a terminal.', { fix: 'Add --yes to run without asking (scripts, CI).' });
      if (!(await confirm(io, `Make ${n(estimate.calls)} OpenAI calls (about ${usd(estimate.costUsd)})? [y/N] `, signal))) {
        io.out('Nothing sent.');
        return 0;
      }
    }
    if (!options.json) io.out(`Prompts: ${plans.map((p) => `${p.variant} ${p.plan.promptVersion.id}`).join(' · ')}`);
    const { summary, customers } = await runTrial(connector, plans, refs, {
      signal,
      onCustomer: options.json ? undefined : (c) => {
        io.out('');
        for (const l of describeTrialCustomer(c)) io.out(l);
      },
    });
    if (options.json) {
      io.out(JSON.stringify({ summary, prompts: plans.map((p) => ({ variant: p.variant, ...p.plan.promptVersion })), customers }, null, 2));
    } else {
      io.out('');
      for (const l of describeTrialSummary(summary)) io.out(l);
    }
    return summary.failed > 0 ? 1 : 0;
  } finally {
    await connector.close();
  }
}
