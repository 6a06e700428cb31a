// "Retry all failed records": each record whose latest attempt failed finally is queued once
// (POST /api/retry, the same as `ipaas-openai retry`), after a confirmation that keyboard users reach.
import { api, ApiError } from '../api.js';
import { announce, errorBox, fill, h } from '../dom.js';
import { plural } from '../format.js';

export function retryAllControl() {
  let failed = 0;
  const open = h('button', { type: 'button', id: 'retry-all', 'aria-expanded': 'false', 'aria-controls': 'retry-all-confirm' });
  const yes = h('button', { type: 'button', class: 'primary', id: 'retry-all-yes' }, 'Queue them again');
  const no = h('button', { type: 'button', id: 'retry-all-no' }, 'Cancel');
  const question = h('p', { id: 'retry-all-question' });
  const confirm = h('div', { class: 'confirm', id: 'retry-all-confirm', role: 'group', 'aria-labelledby': 'retry-all-question', hidden: true }, question,
    h('p', { class: 'hint' }, 'Each record is queued once, by its newest failed job: an answer already stored is written without a new OpenAI call. Records still being retried are left to their own next try.'),
    h('div', { class: 'actions' }, yes, no));
  const status = h('div', { class: 'retry-all-status', role: 'status', 'aria-live': 'polite' });

  const show = (on) => {
    confirm.hidden = !on;
    open.setAttribute('aria-expanded', String(on));
    (on ? yes : open).focus();
  };
  open.addEventListener('click', () => show(confirm.hidden));
  no.addEventListener('click', () => show(false));
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      const r = await api('POST', '/api/retry', {});
      const released = r.releasedJobs ? ` ${plural(r.releasedJobs, 'job')} held by the OpenAI quota went back to the queue too.` : '';
      fill(status, h('p', { class: 'retry-all-done' }, `${plural(r.requeuedRecords, 'failed record')} queued again.${released} `, h('a', { href: '#/jobs' }, 'Follow them on the Jobs page')));
      announce(`${plural(r.requeuedRecords, 'failed record')} queued again`);
    } catch (err) {
      fill(status, errorBox('Could not retry the failed records', err.message, err instanceof ApiError ? err.fix : undefined));
    } finally {
      yes.disabled = false;
      confirm.hidden = true;
      open.setAttribute('aria-expanded', 'false');
      open.focus();
    }
  });

  const el = h('div', { class: 'retry-all' }, open, confirm, status);
  /** Shows how many records a retry would queue now. */
  el.update = (n) => {
    failed = n;
    open.textContent = `Retry all failed records (${failed})…`;
    open.disabled = failed === 0;
    question.textContent = `Queue the ${plural(failed, 'failed record')} again?`;
  };
  el.update(0);
  return el;
}
