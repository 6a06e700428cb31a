// The Retry button of a record: queue the record again and follow its job to the end.
import { api, ApiError } from '../api.js';
import { add, announce, badge, clear, errorBox, fill, h } from '../dom.js';
import { time } from '../format.js';

const DONE = new Set(['written', 'skipped', 'failed']);

export function retryPanel(attempt, life) {
  const failed = attempt.outcome === 'failed';
  const status = h('div', { class: 'retry-status', role: 'status', 'aria-live': 'polite' });
  const hint = h('p', { class: 'hint', id: 'retry-hint' },
    failed && attempt.jobId
      ? 'Runs this record again. If its answer was already stored, it is only written back, without a new OpenAI call.'
      : 'Queues a new sync of this record (it calls OpenAI again).');
  const button = h('button', { type: 'button', class: 'primary', 'aria-describedby': 'retry-hint', id: 'retry-button' }, failed ? 'Retry' : 'Sync again');

  const follow = async (jobId) => {
    const job = await api('GET', `/api/jobs/${jobId}`);
    if (!life.alive) return true;
    clear(status);
    if (!DONE.has(job.state)) {
      const wait = job.runAfter && new Date(job.runAfter).getTime() > Date.now() + 1000 ? ` · next try at ${time(job.runAfter)}` : '';
      add(status, h('p', null, `Job #${job.id}: `, badge(job.state), wait, job.lastError ? h('span', { class: 'muted' }, ` · last error: ${job.lastError}`) : null));
      return false;
    }
    const outcome = job.state === 'written' ? 'synced' : job.state;
    add(status, h('p', { class: 'retry-done' }, 'Retry finished: ', badge(outcome),
      job.lastAttemptId ? [' · ', h('a', { href: `#/attempt/${job.lastAttemptId}`, id: 'retry-result-link' }, `Open attempt #${job.lastAttemptId}`)] : null));
    if (job.state === 'failed' && job.lastError) add(status, errorBox('It failed again', job.lastError, job.lastErrorFix));
    announce(`Retry finished: ${outcome}`);
    button.disabled = false;
    return true;
  };

  button.addEventListener('click', async () => {
    button.disabled = true;
    fill(status, h('p', null, 'Queuing…'));
    let r;
    try {
      r = await api('POST', `/api/attempts/${attempt.id}/retry`);
    } catch (err) {
      button.disabled = false;
      fill(status, errorBox('Could not retry', err.message, err instanceof ApiError ? err.fix : undefined));
      return;
    }
    announce('Retry queued');
    const jobId = r.jobIds[0];
    let finished = false;
    const tick = async () => {
      if (finished || !life.alive) return;
      try {
        finished = await follow(jobId);
      } catch (err) {
        finished = true;
        button.disabled = false;
        fill(status, errorBox('Could not follow the retry', err.message, err.fix));
      }
      if (!finished && life.alive) setTimeout(tick, 500);
    };
    tick();
  });

  return h('section', { class: 'card retry', 'aria-label': 'Retry' }, h('div', { class: 'retry-row' }, button, hint), status);
}
