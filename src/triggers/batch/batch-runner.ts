import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { PlanCache } from '../../queue/plan-cache.js';
import { endWithError, jobRef, skipJob, type StoredAnswer } from '../../queue/run-job.js';
import { usageFrom, toUpstreamError } from '../../openai/call-openai.js';
import { InterruptedError, upstreamError } from '../../shared/errors.js';
import { SUBMITTING, type Job, type StoredBatch } from '../../store/ports.js';
import { newAttempt } from '../../queue/attempt.js';
import { answerPackage, checkBudget, prepareRequest } from '../../pipeline/prepare-and-call.js';
import type { SyncDeps } from '../../app/sync-deps.js';
import { BatchFileWriter } from './batch-file.js';

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
const customId = (jobId: number) => `job-${jobId}`;
const jobIdOf = (id: unknown) => (typeof id === 'string' && id.startsWith('job-') ? Number(id.slice(4)) : NaN);

/** What applying an ended batch did with its lines (each line counted once, by the applier that settled it). */
export interface BatchTally {
  /** Answers stored: the runner writes them back. */
  answered: number;
  skipped: number;
  /** Lines that failed or whose answer could not be used (dead-lettered, or back to the queue to try again). */
  errors: number;
  /** Failed, expired or missing lines sent the configured fallback way (batch.onLineFailure). */
  fallback: number;
}

export const linesOf = (t: BatchTally) => t.answered + t.skipped + t.errors + t.fallback;

/** Where a batch stands after it was looked at: applied now by this call, applied (or being applied) by someone else, or still running. */
export type BatchSettlement =
  | { kind: 'applied'; status: string; tally: BatchTally }
  | { kind: 'already-applied'; status: string; by: 'earlier' | 'another' }
  | { kind: 'open'; status: string };

/** The batch as OpenAI has it now (an UpstreamError when OpenAI cannot tell, 404 for one it does not know). */
export async function retrieveBatch(deps: SyncDeps, id: string): Promise<OpenAI.Batch> {
  try {
    return await deps.openai.batches.retrieve(id);
  } catch (err) {
    throw toUpstreamError(err, deps.redact, deps.config.openai.timeoutMs, deps.config.openai.baseUrl);
  }
}

/** Runs `fn` over items with at most `n` at once. */
async function eachLimited<T>(items: AsyncIterable<T> | T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const running = new Set<Promise<void>>();
  for await (const item of items as AsyncIterable<T>) {
    const p = fn(item).finally(() => running.delete(p));
    running.add(p);
    if (running.size >= n) await Promise.race(running);
  }
  await Promise.all(running);
}

/**
 * Bulk work through OpenAI's Batch API at half the price: pending jobs become
 * JSONL files (within OpenAI's limits), uploaded and submitted; batches are
 * polled with backoff; every result line, matched by custom_id, is parsed and
 * mapped TO as a direct answer would be and stored: the job becomes answered,
 * and the queue's runner writes it back like any other. Batch ids live in the
 * store, so a restart resumes polling instead of paying again.
 */
export class BatchRunner {
  private readonly openai: OpenAI;

  constructor(
    private readonly deps: SyncDeps,
    private readonly plans: PlanCache,
    private readonly runId: string,
    /** Re-send customers whose mapped inputs did not change (sync --all --force). */
    private readonly force = false,
    /** Stops applying between lines (serve is stopping): what is left stays batched for the next applier. */
    private readonly signal?: AbortSignal,
  ) {
    this.openai = deps.openai;
  }

  private get cfg() {
    return this.deps.config.batch;
  }

  private get endpoint(): '/v1/responses' | '/v1/chat/completions' {
    return this.deps.config.openai.api === 'responses' ? '/v1/responses' : '/v1/chat/completions';
  }

  /**
   * A batch is recorded as an intent (its jobs marked, a local id) before it is created, and created
   * with that id in its metadata. An intent left behind (the connector died, or a create's answer was
   * lost, between OpenAI creating the batch and the store confirming it) is looked up at OpenAI by
   * that id: found, the batch is adopted and its results applied; not found, its jobs wait for the
   * next file. Either way nothing is paid for twice. Returns how many batches were adopted.
   */
  async resolveSubmissions(): Promise<number> {
    const { runs } = this.deps.store;
    const open = new Map((await runs.batches(this.runId)).filter((b) => b.status === SUBMITTING).map((b) => [b.id, b]));
    if (open.size === 0) return 0;
    const since = Math.floor(((await runs.run(this.runId))?.createdAt ?? 0) / 1000) - 300;
    let adopted = 0;
    try {
      for await (const batch of this.openai.batches.list({ limit: 100 })) {
        if (batch.created_at < since || open.size === 0) break;
        const local = batch.metadata?.submission;
        if (batch.metadata?.run_id !== this.runId || !local || !open.has(local)) continue;
        await this.confirmAdopted(local, batch, Date.now());
        open.delete(local);
        adopted++;
      }
    } catch (err) {
      throw toUpstreamError(err, this.deps.redact, this.deps.config.openai.timeoutMs, this.deps.config.openai.baseUrl);
    }
    for (const local of open.keys()) await runs.dropSubmission(local);
    return adopted;
  }

  private async confirmAdopted(local: string, batch: OpenAI.Batch, nextPollAt: number): Promise<void> {
    await this.deps.store.runs.confirmSubmission(local, { id: batch.id, inputFileId: batch.input_file_id, status: batch.status, nextPollAt });
    this.deps.logger.warn({ batchId: batch.id }, 'adopted a batch created at OpenAI but not confirmed in the store; its results are applied, nothing is sent again');
  }

  /**
   * A batch a webhook names that the store does not know: if its metadata names an intent of this run
   * still waiting for its create answer (D1), it takes the intent's place. Only adopts: unlike
   * resolveSubmissions it drops no intent, since this run's own process may be creating one right now.
   */
  async adopt(batch: OpenAI.Batch): Promise<boolean> {
    const local = batch.metadata?.submission;
    if (batch.metadata?.run_id !== this.runId || !local) return false;
    const intent = (await this.deps.store.runs.batches(this.runId)).find((b) => b.id === local && b.status === SUBMITTING);
    if (!intent) return false;
    // The webhook applies it next; a poll now would only race it for the claim.
    await this.confirmAdopted(local, batch, Date.now() + this.backoff(0));
    return true;
  }

  /** Writes the run's waiting jobs into batch files and submits them. Returns how many jobs went out. */
  async submit(limit = this.cfg.maxLinesPerFile): Promise<number> {
    const { queue } = this.deps.store;
    // Intents left by a crash or a lost answer are settled before anything new is sent.
    await this.resolveSubmissions();
    if ((await queue.countForBatch(this.runId, 1)) === 0) return 0;
    const plan = await this.plans.get();
    const writer = new BatchFileWriter(this.cfg);
    try {
      // A file may hold 50,000 requests: read the waiting jobs a chunk at a time, not all at once.
      let afterId = 0;
      for (let taken = 0; taken < limit; ) {
        const chunk = await queue.pendingForBatch(this.runId, Math.min(1000, limit - taken), afterId);
        if (chunk.length === 0) break;
        taken += chunk.length;
        afterId = chunk[chunk.length - 1]!.id;
        await eachLimited(chunk, this.deps.config.jobs.concurrency, (job) => this.addLine(writer, plan, job));
      }
      const files = await writer.finish();
      let sent = 0;
      for (const file of files) {
        const uploaded = await this.openai.files.create({ file: createReadStream(file.path), purpose: 'batch' }).catch((e) => {
          throw toUpstreamError(e, this.deps.redact, this.deps.config.openai.timeoutMs, this.deps.config.openai.baseUrl);
        });
        // The intent first: if the process dies after OpenAI created the batch, the restart finds it by this id.
        const local = `submitting-${randomUUID()}`;
        await this.deps.store.runs.recordSubmission({ id: local, runId: this.runId, inputFileId: uploaded.id, lines: file.lines }, file.jobIds);
        let batch;
        try {
          // No SDK retry: a create whose answer was lost may exist at OpenAI, and a blind retry would pay twice.
          batch = await this.openai.batches.create(
            { input_file_id: uploaded.id, endpoint: this.endpoint, completion_window: '24h', metadata: { run_id: this.runId, submission: local } },
            { maxRetries: 0 },
          );
        } catch (e) {
          // Adopted if OpenAI did create it; else its jobs wait again for the next file.
          if (await this.resolveSubmissions()) {
            sent += file.lines;
            continue;
          }
          throw toUpstreamError(e, this.deps.redact, this.deps.config.openai.timeoutMs, this.deps.config.openai.baseUrl);
        }
        await this.deps.store.runs.confirmSubmission(local, { id: batch.id, inputFileId: uploaded.id, status: batch.status, nextPollAt: Date.now() + this.backoff(0) });
        this.deps.logger.info({ batchId: batch.id, lines: file.lines, bytes: file.bytes }, 'batch submitted');
        sent += file.lines;
      }
      return sent;
    } finally {
      await writer.cleanup();
    }
  }

  /** One job's request as a batch line (or its early end: skipped, failed, held). */
  private async addLine(writer: BatchFileWriter, plan: Awaited<ReturnType<PlanCache['get']>>, job: Job): Promise<void> {
    const { queue, state } = this.deps.store;
    const started = performance.now();
    const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
    try {
      const prior = job.customerId ? await state.get(job.customerId) : undefined;
      const prepared = await prepareRequest(this.deps, plan, jobRef(job), a, { skipUnchanged: this.force ? undefined : prior });
      if (job.customerId !== prepared.customer.id) await queue.setCustomerId(job.id, prepared.customer.id);
      if (prepared.kind === 'skipped') {
        await skipJob(this.deps, job, a, prepared.reason, started);
        return;
      }
      checkBudget(this.deps, prepared.request, this.cfg.discount);
      await writer.add({ customId: customId(job.id), jobId: job.id, json: JSON.stringify({ custom_id: customId(job.id), method: 'POST', url: this.endpoint, body: prepared.request.body }) });
    } catch (err) {
      await endWithError(this.deps, job, a, err, started, undefined);
    }
  }

  /** Polls the run's open batches that are due; applies the ones that ended. Returns how many are still open. */
  async poll(): Promise<number> {
    const { runs } = this.deps.store;
    // An intent left by a killed run holds its jobs as batched: only asking OpenAI settles it (D1).
    await this.resolveSubmissions();
    const open = await runs.openBatches(this.runId);
    for (const b of open) {
      if (b.nextPollAt > Date.now()) continue;
      let batch;
      try {
        batch = await this.retrieve(b.id);
      } catch (err) {
        this.deps.logger.warn({ batchId: b.id, err: (err as Error).message }, 'batch poll failed; will poll again');
        await runs.updateBatch(b.id, { status: b.status, nextPollAt: Date.now() + this.backoff(b.polls) });
        continue;
      }
      await this.settleBatch(b, batch);
    }
    return (await runs.openBatches(this.runId)).length;
  }

  /**
   * A webhook said this stored batch ended: asks OpenAI for its state and files (the event names only
   * the batch; `asked`: OpenAI was just asked) and applies it now, exactly as a poll would. Throws what
   * OpenAI answered when it cannot be asked.
   */
  async applyNow(b: StoredBatch, asked?: OpenAI.Batch): Promise<BatchSettlement> {
    if (b.applied) return { kind: 'already-applied', status: b.status, by: 'earlier' };
    return this.settleBatch(b, asked ?? (await this.retrieve(b.id)));
  }

  private retrieve(id: string): Promise<OpenAI.Batch> {
    return retrieveBatch(this.deps, id);
  }

  /** Records what OpenAI said of a batch; one that ended is applied, by whoever claims it first. */
  private async settleBatch(b: StoredBatch, batch: OpenAI.Batch): Promise<BatchSettlement> {
    const ended = { status: batch.status, outputFileId: batch.output_file_id ?? null, errorFileId: batch.error_file_id ?? null };
    await this.deps.store.runs.updateBatch(b.id, { ...ended, nextPollAt: Date.now() + this.backoff(b.polls + 1) });
    if (!TERMINAL.has(batch.status)) return { kind: 'open', status: batch.status };
    const reason = batch.status === 'failed' ? `the batch failed: ${batch.errors?.data?.[0]?.message ?? 'no reason given'}` : `the batch ended ${batch.status}`;
    return this.applyClaimed({ ...b, ...ended }, reason);
  }

  /**
   * Applies an ended batch under a claim in the store: a webhook and a poller (in this or any other
   * instance) may both get here at once, and only the claimant applies, so no line is settled twice and
   * no line still being applied is sent the fallback way. The claim is a lease, renewed while applying,
   * so a claimant that dies leaves the batch to the next webhook or poll.
   */
  private async applyClaimed(b: StoredBatch, reason: string): Promise<BatchSettlement> {
    const { runs } = this.deps.store;
    const owner = `apply-${randomUUID()}`;
    const leaseMs = this.deps.config.jobs.leaseMs;
    if (!(await runs.claimApply(b.id, owner, leaseMs))) {
      return { kind: 'already-applied', status: b.status, by: (await runs.batch(b.id))?.applied ? 'earlier' : 'another' };
    }
    const renew = setInterval(() => void runs.claimApply(b.id, owner, leaseMs).catch(() => undefined), Math.max(1_000, leaseMs / 3));
    renew.unref();
    try {
      return { kind: 'applied', status: b.status, tally: await this.apply(b, reason) };
    } catch (err) {
      await runs.releaseApply(b.id, owner).catch(() => undefined);
      throw err;
    } finally {
      clearInterval(renew);
    }
  }

  /** With OpenAI webhooks on, the webhook applies a batch at once: polling is only the safety net, and slow. */
  private backoff(polls: number): number {
    const floor = this.deps.config.openai.webhookSecret ? this.cfg.webhookPollMs : 0;
    return Math.max(floor, Math.min(this.cfg.pollMaxMs, this.cfg.pollMinMs * 2 ** Math.min(polls, 20)));
  }

  private async *lines(fileId: string | null): AsyncGenerator<Record<string, unknown>> {
    if (!fileId) return;
    const res = await this.openai.files.content(fileId);
    if (!res.body) return;
    const rl = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
    for await (const line of rl) if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
  }

  /** Streams the output and error files line by line (memory stays flat) and settles every job of the batch. */
  private async apply(b: StoredBatch, endReason: string): Promise<BatchTally> {
    const plan = await this.plans.get();
    const { queue } = this.deps.store;
    const tally: BatchTally = { answered: 0, skipped: 0, errors: 0, fallback: 0 };
    const inThisBatch = (job: Job | undefined): job is Job => !!job && job.state === 'batched' && job.batchId === b.id;
    const settle = async (line: Record<string, unknown>) => {
      if (this.signal?.aborted) return;
      const job = await queue.get(jobIdOf(line.custom_id));
      if (!inThisBatch(job)) return;
      const response = line.response as { status_code?: number; body?: Record<string, unknown>; request_id?: string } | null;
      try {
        tally[response?.status_code === 200 && response.body && typeof response.body === 'object' ? await this.applyAnswer(b, job, response.body, plan) : await this.lineFailed(job, line, response)]++;
      } catch (err) {
        // Settled meanwhile by an applier whose claim outlived ours (every move is state-checked): theirs stands.
        if (!inThisBatch(await queue.get(job.id))) return;
        throw err;
      }
    };
    await eachLimited(this.lines(b.outputFileId), this.deps.config.jobs.concurrency, settle);
    await eachLimited(this.lines(b.errorFileId), this.deps.config.jobs.concurrency, settle);
    // Stopped part way: lines not read yet are not missing, so none goes the fallback way; the next applier goes on.
    if (this.signal?.aborted) throw new InterruptedError(`Applying batch ${b.id}`);
    // Lines in no file (a batch that failed validation, or cancelled before them): back to the queue.
    for (const job of await queue.jobsInBatch(b.id)) tally[await this.requeue(job, `No result line: ${endReason}.`)]++;
    await this.deps.store.runs.markApplied(b.id);
    this.deps.logger.info({ batchId: b.id, status: b.status, ...tally }, 'batch applied');
    return tally;
  }

  private async applyAnswer(b: StoredBatch, job: Job, body: Record<string, unknown>, plan: Awaited<ReturnType<PlanCache['get']>>): Promise<keyof BatchTally> {
    const started = performance.now();
    const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
    try {
      // The same path as a direct answer: fresh customer, parse, map TO; stored, the runner writes it back.
      const prepared = await prepareRequest(this.deps, plan, jobRef(job), a);
      if (prepared.kind === 'skipped') {
        await skipJob(this.deps, job, a, prepared.reason, started);
        return 'skipped';
      }
      const usage = usageFrom(body.usage as Parameters<typeof usageFrom>[0]);
      const pkg = answerPackage(this.deps, plan, prepared, { raw: body, responseId: String(body.id), model: String(body.model ?? prepared.request.model), usage }, a, this.cfg.discount);
      const stored: StoredAnswer = { ...pkg, batchId: b.id };
      await this.deps.store.queue.storeAnswer(job, stored);
      return 'answered';
    } catch (err) {
      await endWithError(this.deps, job, a, err, started, undefined);
      return 'errors';
    }
  }

  private async lineFailed(job: Job, line: Record<string, unknown>, response: { status_code?: number; body?: Record<string, unknown> } | null): Promise<keyof BatchTally> {
    const error = (line.error as { code?: string; message?: string } | null) ?? (response?.body?.error as { code?: string; message?: string; type?: string } | undefined);
    const status = response?.status_code;
    const err = upstreamError({
      service: 'openai',
      status,
      type: (error as { type?: string } | undefined)?.type,
      upstreamCode: error?.code,
      upstreamMessage: this.deps.redact(`batch line ${String(line.custom_id)}: ${error?.message ?? 'no result'}`),
    });
    if (!err.retryable) {
      const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
      await endWithError(this.deps, job, a, err, performance.now(), undefined);
      return 'errors';
    }
    return this.requeue(job, err.message);
  }

  /** Expired, failed or missing lines: a direct call or the next batch (config), until attempts run out. */
  private async requeue(job: Job, reason: string): Promise<keyof BatchTally> {
    if (job.attempts + 1 >= job.maxAttempts) {
      const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
      await endWithError(this.deps, job, a, upstreamError({ service: 'openai', status: undefined, upstreamMessage: reason }), performance.now(), undefined);
      return 'errors';
    }
    await this.deps.store.queue.unbatch(job, { fallback: this.cfg.onLineFailure === 'direct' }, reason);
    return 'fallback';
  }
}
