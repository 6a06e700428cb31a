import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { openConnector, rateLimiterFor, type Connector } from '../../app/connector.js';
import { PlanCache } from '../../queue/plan-cache.js';
import { endReview, isReviewedAnswer } from '../../queue/review.js';
import { TERMINAL_STATES } from '../../queue/job-states.js';
import { WorkerPool } from '../../queue/worker-pool.js';
import type { Job } from '../../store/ports.js';
import { resolveConfig, type CommandIO, type CommonOptions } from '../io.js';

export interface ReviewOptions extends CommonOptions {
  action: 'list' | 'approve' | 'reject';
  jobIds: number[];
  all?: boolean;
  reason?: string | undefined;
  /** Who decides (recorded on the job and in the log); default the OS user. */
  by?: string | undefined;
}

const age = (since: number) => {
  const s = Math.max(0, Math.round((Date.now() - since) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
};
const text = (v: string | null) => (v === null || v === '' ? '(empty)' : JSON.stringify(v.length > 80 ? `${v.slice(0, 79)}…` : v));

/** One waiting answer: who, since when, and each field it would change, before -> after. */
export function describeReview(job: Job): string[] {
  const a = job.answer;
  const who = isReviewedAnswer(a) ? a.customerNumber : job.ref;
  const lines = [`job ${job.id} · ${who} · waiting ${age(job.updatedAt)}${isReviewedAnswer(a) && a.promptVersion ? ` · prompt ${a.promptVersion}` : ''}`];
  if (isReviewedAnswer(a)) for (const f of a.proposal.filter((p) => p.after !== p.before)) lines.push(`    ${f.field}: ${text(f.before)} -> ${text(f.after)}`);
  return lines;
}

/** The named jobs, each waiting for review: an unknown id or one not waiting is this command's failure, named. */
async function waitingJobs(c: Connector, ids: number[], io: CommandIO): Promise<Job[] | undefined> {
  const jobs: Job[] = [];
  for (const id of ids) {
    const job = await c.store.queue.get(id);
    if (!job || job.state !== 'review') {
      io.err(`error: ${job ? `job ${id} is ${job.state}, not waiting for review` : `there is no job ${id}`}.`);
      io.err('Fix: `ipaas-openai review list` shows the answers waiting for review and their job ids.');
      return undefined;
    }
    jobs.push(job);
  }
  return jobs;
}

/** Writes the approved answers now, in this process (no running serve needed): the queue's runner, no new OpenAI call. */
async function writeApproved(c: Connector, ids: number[], io: CommandIO): Promise<number> {
  const deps = { ...c };
  const pool = new WorkerPool(deps, new PlanCache(deps), { concurrency: c.config.jobs.concurrency, leaseMs: c.config.jobs.leaseMs, pollMs: 50, backoff: { baseMs: c.config.jobs.retryBaseMs, maxMs: c.config.jobs.retryMaxMs } });
  await pool.start();
  const end = Date.now() + 60_000;
  let jobs: Job[] = [];
  try {
    for (;;) {
      jobs = (await Promise.all(ids.map((id) => c.store.queue.get(id)))).filter((j): j is Job => !!j);
      if (jobs.every((j) => TERMINAL_STATES.includes(j.state)) || Date.now() > end) break;
      await sleep(100);
    }
  } finally {
    await pool.stop(5_000, 'drain');
  }
  let failed = 0;
  for (const j of jobs) {
    const a = j.lastAttemptId ? await c.store.log.get(j.lastAttemptId) : undefined;
    if (j.state === 'written') io.out(`✔ job ${j.id} ${a?.customerNumber ?? j.ref} written${a?.flags?.length ? ` (${a.flags.join('; ')})` : ''}`);
    else if (j.state === 'failed') (failed++, io.out(`✖ job ${j.id} ${j.ref} failed: ${j.lastError ?? ''}${j.lastErrorFix ? `\n    Fix: ${j.lastErrorFix}` : ''}`));
    else io.out(`… job ${j.id} ${j.ref} is ${j.state}: a running \`ipaas-openai serve\` finishes it.`);
  }
  return failed ? 1 : 0;
}

/** `ipaas-openai review list | approve | reject`: the answers waiting for a person before write-back. */
export async function reviewCommand(options: ReviewOptions, io: CommandIO): Promise<number> {
  const loaded = resolveConfig(io, options);
  const by = options.by ?? `${userInfo().username}@cli`;
  const connector = await openConnector(loaded, { limiter: rateLimiterFor(loaded.config, loaded.config.jobs.concurrency) });
  try {
    const { queue } = connector.store;
    if (options.action === 'list') {
      const waiting = await queue.reviews();
      if (options.json) io.out(JSON.stringify(waiting.map((j) => ({ jobId: j.id, ref: j.ref, customerId: j.customerId, since: new Date(j.updatedAt).toISOString(), answer: j.answer })), null, 2));
      else if (waiting.length === 0) io.out(`No answers wait for review${loaded.config.sync.review === 'off' ? ' (sync.review is off)' : ''}.`);
      else {
        for (const j of waiting) for (const l of describeReview(j)) io.out(l);
        io.out(`${waiting.length} waiting. Approve with \`ipaas-openai review approve <job...>\` (or --all), reject with \`review reject <job...> --reason "..."\`.`);
      }
      return 0;
    }
    if (options.action === 'approve') {
      const named = options.all ? 'all' : options.jobIds;
      if (named !== 'all' && !(await waitingJobs(connector, named, io))) return 1;
      const approved = await queue.approveReviews(named, by);
      connector.logger.info({ jobIds: approved, by }, 'answers approved for write-back');
      io.out(`${approved.length} answer${approved.length === 1 ? '' : 's'} approved by ${by}; writing them now.`);
      return approved.length ? await writeApproved(connector, approved, io) : 0;
    }
    const jobs = await waitingJobs(connector, options.jobIds, io);
    if (!jobs) return 1;
    for (const j of jobs) {
      await endReview(connector, j, `rejected by ${by}: ${options.reason}`);
      io.out(`✖ job ${j.id} ${j.ref} rejected: nothing written.`);
    }
    connector.logger.info({ jobIds: jobs.map((j) => j.id), by }, 'answers rejected');
    return 0;
  } finally {
    await connector.close();
  }
}
