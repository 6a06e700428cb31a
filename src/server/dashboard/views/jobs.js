// Jobs: the durable queue, one job per record per run. Filter by state, trigger, error code, run and
// customer; each job says which try comes next and when, and which instance holds it while it runs.
import { api, ApiError } from '../api.js';
import { pager, setParams, viewError } from '../app.js';
import { add, announce, badge, clear, errorBox, field, fill, h, pageTitle } from '../dom.js';
import { dateTime, hms, num, plural } from '../format.js';
import { retryAllControl } from './retry-all.js';

const PAGE = 50;
const STATES = ['pending', 'calling', 'batched', 'answered', 'held', 'failed', 'written', 'skipped'];
const STATE_WORDS = { pending: 'waiting', calling: 'calling OpenAI', batched: 'in an OpenAI batch', answered: 'writing back', held: 'held', failed: 'failed (dead-lettered)', written: 'written', skipped: 'skipped' };
const FILTERS = ['state', 'trigger', 'errorCode', 'runId', 'ref'];

/** Where a job stands in its tries, in words. */
export function jobTries(j) {
  const next = j.attempts + 1;
  const of = `of ${num(j.maxAttempts)}`;
  if (j.state === 'pending' && j.attempts > 0) return `try ${num(next)} ${of}, next at ${hms(j.runAfter)}`;
  if (j.state === 'calling' || j.state === 'answered' || j.state === 'batched') return `try ${num(next)} ${of}${j.heldBy ? ` on ${j.heldBy}` : ''}`;
  if (j.state === 'failed') return `after try ${num(next)} ${of}`;
  return '';
}

const shortRun = (id) => (id.length > 14 ? `${id.slice(0, 8)}…` : id);

function row(j, onRetried) {
  const customer = j.refKind === 'id' ? `id ${j.ref}` : j.ref;
  const retry = j.state === 'failed' ? h('button', { type: 'button', class: 'small-button', 'aria-label': `Retry job ${j.id} (${customer})` }, 'Retry') : null;
  retry?.addEventListener('click', async () => {
    retry.disabled = true;
    try {
      await api('POST', '/api/retry', { jobIds: [j.id] });
      announce(`Job ${j.id} queued again`);
      onRetried();
    } catch (err) {
      retry.replaceWith(errorBox('Could not retry', err.message, err instanceof ApiError ? err.fix : undefined));
    }
  });
  return h('tr', { dataset: { jobId: j.id, state: j.state, ref: j.ref } },
    h('td', { class: 'num muted col-optional' }, `#${j.id}`),
    h('td', { class: 'nowrap' }, j.lastAttemptId ? h('a', { href: `#/attempt/${j.lastAttemptId}`, 'aria-label': `${customer}, job ${j.id}, last attempt ${j.lastAttemptId}` }, customer) : customer),
    h('td', { class: 'outcome' }, badge(j.state), jobTries(j) ? h('span', { class: 'try small' }, jobTries(j)) : null),
    h('td', { class: 'col-optional' }, j.trigger),
    h('td', { class: 'small' }, j.runId ? h('a', { href: `#/jobs?runId=${encodeURIComponent(j.runId)}`, title: j.runId }, shortRun(j.runId)) : h('span', { class: 'muted' }, '– (webhook)')),
    h('td', { class: 'reason' }, j.lastError ? h('span', { title: j.lastError }, j.lastErrorCode ? `[${j.lastErrorCode}] ` : '', j.lastError) : j.holdReason ?? h('span', { class: 'muted' }, '–')),
    h('td', { class: 'nowrap when' }, dateTime(j.updatedAt)),
    h('td', null, retry));
}

export async function render(root, { params, life }) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? '']));
  state.offset = Number(params.get('offset') ?? 0) || 0;
  const stateSelect = h('select', { name: 'state' });
  const trigger = h('input', { type: 'text', name: 'trigger', value: state.trigger, placeholder: 'manual, retry, webhook:updated…', spellcheck: 'false' });
  const errorCode = h('input', { type: 'text', name: 'errorCode', value: state.errorCode, placeholder: 'API_REQUEST_FAILED', spellcheck: 'false' });
  const ref = h('input', { type: 'search', name: 'ref', value: state.ref, placeholder: 'CUST-10045 or 6' });
  const runId = h('input', { type: 'text', name: 'runId', value: state.runId, spellcheck: 'false' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the jobs' },
    field('State', stateSelect), field('Customer', ref), field('Trigger', trigger), field('Error code', errorCode), field('Run', runId),
    h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  const chips = h('p', { class: 'chips', id: 'job-counts' });
  const retryAll = retryAllControl();
  const pages = pager('jobs-summary');
  const tbody = h('tbody');
  const errorArea = h('div');
  let lastJson = '';
  let lastCounts = '';

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Jobs'), h('p', { class: 'muted small' }, 'The durable queue: one job per record per run, newest first. A record synced by two runs has two jobs.')),
    h('section', { class: 'card', 'aria-labelledby': 'queue-now-title' }, h('h2', { id: 'queue-now-title' }, 'Jobs by state'), chips, retryAll),
    form, errorArea, pages.summary,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-describedby': 'jobs-summary' },
      h('caption', { class: 'visually-hidden' }, 'Jobs'),
      h('thead', null, h('tr', null, ['#', 'Customer', 'State', 'Trigger', 'Run', 'Last error', 'Updated', ''].map((c, i) => h('th', { scope: 'col', class: [i === 0 ? 'num' : '', i === 0 || i === 3 ? 'col-optional' : ''].filter(Boolean).join(' ') || undefined }, c || h('span', { class: 'visually-hidden' }, 'Action'))))),
      tbody)),
    pages.nav);

  const load = async () => {
    const qs = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    for (const k of FILTERS) if (state[k]) qs.set(k, state[k]);
    let page;
    try {
      page = await api('GET', `/api/jobs?${qs}`);
      // Failed records (for Retry all) are re-read only when the queue changed.
      const counts = JSON.stringify(page.counts);
      if (counts !== lastCounts) {
        retryAll.update((await api('GET', '/api/overview?range=1h')).records.failed);
        lastCounts = counts;
      }
      clear(errorArea);
    } catch (err) {
      fill(errorArea, viewError(err));
      return;
    }
    if (!life.alive) return;
    const json = JSON.stringify(page);
    if (json === lastJson) return;
    lastJson = json;
    fill(stateSelect, h('option', { value: '', selected: !state.state }, 'All states'),
      STATES.map((s) => h('option', { value: s, selected: s === state.state }, `${STATE_WORDS[s]} (${num(page.counts[s] ?? 0)})`)));
    fill(chips, ...STATES.filter((s) => page.counts[s]).map((s) => h('span', { class: `chip${s === 'failed' ? ' chip-bad' : s === 'written' ? ' chip-ok' : ''}`, dataset: { state: s } }, `${num(page.counts[s])} ${STATE_WORDS[s]}`)));
    if (!chips.childNodes.length) add(chips, h('span', { class: 'muted' }, 'The queue is empty.'));
    fill(tbody, ...(page.jobs.length ? page.jobs.map((j) => row(j, load)) : [h('tr', null, h('td', { colspan: 8, class: 'empty' }, 'No jobs match.'))]));
    pages.show(page.offset, page.jobs.length, page.total, plural(page.total, 'job'));
  };
  const apply = () => {
    setParams(new URLSearchParams({ ...Object.fromEntries(FILTERS.map((k) => [k, state[k]])), offset: state.offset ? String(state.offset) : '' }));
    return load();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(state, { state: stateSelect.value, trigger: trigger.value.trim(), errorCode: errorCode.value.trim(), runId: runId.value.trim(), ref: ref.value.trim(), offset: 0 });
    apply();
  });
  stateSelect.addEventListener('change', () => form.requestSubmit());
  pages.prev.addEventListener('click', () => ((state.offset = Math.max(0, state.offset - PAGE)), apply()));
  pages.next.addEventListener('click', () => ((state.offset += PAGE), apply()));

  await load();
  life.every(3000, () => (state.offset === 0 ? load() : undefined));
}
