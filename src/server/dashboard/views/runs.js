// Runs: manual syncs and backfills (sync --all), newest first, each with its progress and outcome; a
// run's jobs open on the Jobs page.
import { changedPage, pager, setParams } from '../app.js';
import { add, fill, h, pageTitle } from '../dom.js';
import { dateTime, num, plural } from '../format.js';

const PAGE = 25;

function outcome(r) {
  const c = r.counts;
  const open = c.pending + c.calling + (c.batched ?? 0) + c.answered + c.held;
  return h('p', { class: 'chips' },
    h('span', { class: 'chip chip-ok' }, `${num(c.written)} synced`),
    c.skipped ? h('span', { class: 'chip' }, `${num(c.skipped)} skipped`) : null,
    c.failed ? h('span', { class: 'chip chip-bad' }, `${num(c.failed)} failed`) : null,
    open ? h('span', { class: 'chip chip-info' }, `${num(open)} to go`) : null);
}

function kind(r) {
  if (!r.bulk) return r.trigger;
  const listed = r.bulk.expected === null ? `${num(r.bulk.enumerated)} listed` : `${num(r.bulk.enumerated)} of ${num(r.bulk.expected)} listed`;
  return `${r.bulk.mode === 'batch' ? 'backfill (Batch API)' : 'backfill'} · ${r.bulk.enumerationDone ? 'all listed' : listed}`;
}

function row(r) {
  const jobs = `#/jobs?runId=${encodeURIComponent(r.runId)}`;
  return h('tr', { dataset: { runId: r.runId, finished: String(r.finished) } },
    h('td', { class: 'nowrap when' }, dateTime(r.createdAt)),
    h('td', null, h('a', { href: jobs, 'aria-label': `${kind(r)} run ${r.runId}: its jobs`, title: r.runId }, kind(r)), h('span', { class: 'muted small run-id' }, r.runId.length > 14 ? `${r.runId.slice(0, 8)}…` : r.runId)),
    h('td', { class: 'progress-cell' },
      h('label', { class: 'small', for: `run-${r.runId}` }, `${num(r.done)} of ${plural(r.total, 'record')} done`),
      h('progress', { id: `run-${r.runId}`, max: r.total, value: r.done }, `${num(r.done)} of ${num(r.total)}`)),
    h('td', null, outcome(r)),
    h('td', null, r.finished ? 'Finished' : 'Running'),
    h('td', { class: 'nowrap when col-optional' }, dateTime(r.updatedAt)));
}

export async function render(root, { params, life }) {
  let offset = Number(params.get('offset') ?? 0) || 0;
  const pages = pager('runs-summary');
  const tbody = h('tbody');
  const errorArea = h('div');
  const fetchPage = changedPage(errorArea, life);
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Runs'), h('p', { class: 'muted small' }, 'Manual syncs (page, API, CLI) and backfills, newest first. Webhook syncs belong to no run: see Activity.')),
    errorArea, pages.summary,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-describedby': 'runs-summary' },
      h('caption', { class: 'visually-hidden' }, 'Runs'),
      h('thead', null, h('tr', null, ['Started', 'Run', 'Progress', 'Outcome', 'Status', 'Last change'].map((c, i) => h('th', { scope: 'col', class: i === 5 ? 'col-optional' : undefined }, c)))),
      tbody)),
    pages.nav);

  const load = async () => {
    const page = await fetchPage(`/api/runs?limit=${PAGE}&offset=${offset}`);
    if (!page) return;
    fill(tbody, ...(page.runs.length ? page.runs.map(row) : [h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No runs yet. Start one on the Manual sync page.'))]));
    pages.show(offset, page.runs.length, page.total, plural(page.total, 'run'));
  };
  const go = (to) => {
    offset = Math.max(0, to);
    setParams(new URLSearchParams({ offset: offset ? String(offset) : '' }));
    load();
  };
  pages.prev.addEventListener('click', () => go(offset - PAGE));
  pages.next.addEventListener('click', () => go(offset + PAGE));
  await load();
  life.every(3000, () => (offset === 0 ? load() : undefined));
}
