import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type OpenAI from 'openai';
import type { PlanCache } from '../../queue/plan-cache.js';
import { endWithError, jobRef, skipJob, type StoredAnswer } from '../../queue/run-job.js';
import { usageFrom, toUpstreamError } from '../../openai/call-openai.js';
import { upstreamError } from '../../shared/errors.js';
import { SUBMITTING, type Job, type StoredBatch } from '../../store/ports.js';
import { newAttempt } from '../../queue/attempt.js';
import { answerPackage, checkBudget, prepareRequest } from '../../pipeline/prepare-and-call.js';
import type { SyncDeps } from '../../app/sync-deps.js';
import { BatchFileWriter } from './batch-file.js';

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);
const customId = (jobId: number) => `job-${jobId}`;
const jobIdOf = (id: unknown) => (typeof id === 'string' && id.startsWith('job-') ? Number(id.slice(4)) : NaN);

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
        await runs.confirmSubmission(local, { id: batch.id, inputFileId: batch.input_file_id, status: batch.status, nextPollAt: Date.now() });
        open.delete(local);
        adopted++;
        this.deps.logger.warn({ batchId: batch.id }, 'adopted a batch created at OpenAI but not confirmed in the store; its results are applied, nothing is sent again');
      }
    } catch (err) {
      throw toUpstreamError(err, this.deps.redact, this.deps.config.openai.timeoutMs, this.deps.config.openai.baseUrl);
    }
    for (const local of open.keys()) await runs.dropSubmission(local);
    return adopted;
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
        await this.deps.store.runs.confirmSubmission(local, { id: batch.id, inputFileId: uploaded.id, status: batch.status, nextPollAt: Date.now() + this.cfg.pollMinMs });
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
        batch = await this.openai.batches.retrieve(b.id);
      } catch (err) {
        this.deps.logger.warn({ batchId: b.id, err: toUpstreamError(err, this.deps.redact, this.deps.config.openai.timeoutMs, this.deps.config.openai.baseUrl).message }, 'batch poll failed; will poll again');
        await runs.updateBatch(b.id, { status: b.status, nextPollAt: Date.now() + this.backoff(b.polls) });
        continue;
      }
      await runs.updateBatch(b.id, {
        status: batch.status,
        outputFileId: batch.output_file_id ?? null,
        errorFileId: batch.error_file_id ?? null,
        nextPollAt: Date.now() + this.backoff(b.polls + 1),
      });
      if (TERMINAL.has(batch.status)) {
        const reason = batch.status === 'failed' ? `the batch failed: ${batch.errors?.data?.[0]?.message ?? 'no reason given'}` : `the batch ended ${batch.status}`;
        await this.apply({ ...b, status: batch.status, outputFileId: batch.output_file_id ?? null, errorFileId: batch.error_file_id ?? null }, reason);
      }
    }
    return (await runs.openBatches(this.runId)).length;
  }

  private backoff(polls: number): number {
    return Math.min(this.cfg.pollMaxMs, this.cfg.pollMinMs * 2 ** Math.min(polls, 20));
  }

  private async *lines(fileId: string | null): AsyncGenerator<Record<string, unknown>> {
    if (!fileId) return;
    const res = await this.openai.files.content(fileId);
    if (!res.body) return;
    const rl = createInterface({ input: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), crlfDelay: Infinity });
    for await (const line of rl) if (line.trim()) yield JSON.parse(line) as Record<string, unknown>;
  }

  /** Streams the output and error files line by line (memory stays flat) and settles every job of the batch. */
  private async apply(b: StoredBatch, endReason: string): Promise<void> {
    const plan = await this.plans.get();
    const { queue } = this.deps.store;
    const settle = async (line: Record<string, unknown>) => {
      const job = await queue.get(jobIdOf(line.custom_id));
      if (!job || job.state !== 'batched' || job.batchId !== b.id) return;
      const response = line.response as { status_code?: number; body?: Record<string, unknown>; request_id?: string } | null;
      if (response?.status_code === 200 && response.body && typeof response.body === 'object') await this.applyAnswer(b, job, response.body, plan);
      else await this.lineFailed(job, line, response);
    };
    await eachLimited(this.lines(b.outputFileId), this.deps.config.jobs.concurrency, settle);
    await eachLimited(this.lines(b.errorFileId), this.deps.config.jobs.concurrency, settle);
    // Lines in no file (a batch that failed validation, or cancelled before them): back to the queue.
    for (const job of await queue.jobsInBatch(b.id)) await this.requeue(job, `No result line: ${endReason}.`);
    await this.deps.store.runs.markApplied(b.id);
    this.deps.logger.info({ batchId: b.id, status: b.status }, 'batch applied');
  }

  private async applyAnswer(b: StoredBatch, job: Job, body: Record<string, unknown>, plan: Awaited<ReturnType<PlanCache['get']>>): Promise<void> {
    const started = performance.now();
    const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
    try {
      // The same path as a direct answer: fresh customer, parse, map TO; stored, the runner writes it back.
      const prepared = await prepareRequest(this.deps, plan, jobRef(job), a);
      if (prepared.kind === 'skipped') {
        await skipJob(this.deps, job, a, prepared.reason, started);
        return;
      }
      const usage = usageFrom(body.usage as Parameters<typeof usageFrom>[0]);
      const pkg = answerPackage(this.deps, plan, prepared, { raw: body, responseId: String(body.id), model: String(body.model ?? prepared.request.model), usage }, a, this.cfg.discount);
      const stored: StoredAnswer = { ...pkg, batchId: b.id };
      await this.deps.store.queue.storeAnswer(job, stored);
    } catch (err) {
      await endWithError(this.deps, job, a, err, started, undefined);
    }
  }

  private async lineFailed(job: Job, line: Record<string, unknown>, response: { status_code?: number; body?: Record<string, unknown> } | null): Promise<void> {
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
      return;
    }
    await this.requeue(job, err.message);
  }

  /** Expired, failed or missing lines: a direct call or the next batch (config), until attempts run out. */
  private async requeue(job: Job, reason: string): Promise<void> {
    if (job.attempts + 1 >= job.maxAttempts) {
      const a = newAttempt(jobRef(job), job.trigger, this.deps.now().toISOString(), job.id);
      await endWithError(this.deps, job, a, upstreamError({ service: 'openai', status: undefined, upstreamMessage: reason }), performance.now(), undefined);
      return;
    }
    await this.deps.store.queue.unbatch(job, { fallback: this.cfg.onLineFailure === 'direct' }, reason);
  }
}
