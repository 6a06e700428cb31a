// Manual sync: paste up to 3,000 CustomerNumbers and/or iPaaS.com ids (the only way to name a customer
// without a number), Submit or Debug, and watch the run's progress.
import { api, ApiError } from '../api.js';
import { add, announce, badge, errorBox, fill, h, pageTitle } from '../dom.js';
import { num, plural } from '../format.js';

const MAX = 3000;
const STATE_ORDER = ['failed', 'calling', 'batched', 'answered', 'pending', 'held', 'skipped', 'written'];

/** CustomerNumbers out of pasted text: lines, commas, semicolons, tabs or spaces; duplicates once. */
export function parseNumbers(text) {
  const all = text.split(/[\s,;]+/).map((t) => t.trim()).filter(Boolean);
  return { numbers: [...new Set(all)], duplicates: all.length - new Set(all).size };
}

/** iPaaS.com ids out of pasted text, as parseNumbers; anything that is not a whole number is named. */
export function parseIds(text) {
  const { numbers, duplicates } = parseNumbers(text);
  return { ids: numbers.filter((t) => /^\d{1,40}$/.test(t)), invalid: numbers.filter((t) => !/^\d{1,40}$/.test(t)), duplicates };
}

function progressView(run) {
  const c = run.counts;
  const synced = c.written;
  const inFlight = c.calling + (c.batched ?? 0) + c.answered;
  const jobs = [...run.jobs].sort((x, y) => STATE_ORDER.indexOf(x.state) - STATE_ORDER.indexOf(y.state) || x.id - y.id).slice(0, 200);
  return [
    h('div', { class: 'progress-row' },
      h('label', { for: 'run-progress' }, `${num(run.done)} of ${num(run.total)} done`),
      h('progress', { id: 'run-progress', max: run.total, value: run.done }, `${num(run.done)} of ${num(run.total)}`)),
    h('p', { class: 'chips' },
      h('span', { class: 'chip chip-ok' }, `${num(synced)} synced`), h('span', { class: 'chip' }, `${num(c.skipped)} skipped`),
      h('span', { class: `chip${c.failed ? ' chip-bad' : ''}` }, `${num(c.failed)} failed`), h('span', { class: 'chip chip-info' }, `${num(c.pending + c.held)} queued, ${num(inFlight)} in flight`)),
    run.finished ? h('p', { class: 'run-done' }, 'Finished. ', h('a', { href: '#/activity?time=today' }, 'See every attempt in Activity'), ' · ', h('a', { href: `#/jobs?runId=${encodeURIComponent(run.runId)}` }, 'this run\'s jobs'), '.') : null,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'run-jobs' },
      h('caption', null, run.jobs.length > jobs.length ? `The first ${jobs.length} records (failures first)` : 'Records in this run'),
      h('thead', null, h('tr', null, ['Customer', 'State', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, jobs.map((j) => h('tr', { dataset: { ref: j.ref, state: j.state } },
        h('td', null, j.lastAttemptId ? h('a', { href: `#/attempt/${j.lastAttemptId}` }, j.refKind === 'id' ? `id ${j.ref}` : j.ref) : j.refKind === 'id' ? `id ${j.ref}` : j.ref),
        h('td', null, badge(j.state)),
        h('td', { class: 'reason' }, j.lastError ? h('span', null, j.lastError, j.lastErrorFix ? h('span', { class: 'fix' }, ` Fix: ${j.lastErrorFix}`) : null) : j.attempts ? `try ${num(j.attempts + 1)}${j.maxAttempts ? ` of ${num(j.maxAttempts)}` : ''}` : '')))))),
  ];
}

export async function render(root, { params, life }) {
  const text = h('textarea', { id: 'sync-numbers', rows: 6, spellcheck: 'false', 'aria-describedby': 'sync-count sync-hint', placeholder: 'CUST-10045\nCUST-10046' });
  const idText = h('textarea', { id: 'sync-ids', rows: 3, spellcheck: 'false', inputmode: 'numeric', 'aria-describedby': 'sync-count sync-ids-hint', placeholder: '6' });
  text.value = params.get('numbers') ?? '';
  idText.value = params.get('ids') ?? '';
  const count = h('p', { id: 'sync-count', class: 'small', 'aria-live': 'polite' }, 'No customers yet.');
  // The data model: customers by CustomerNumber, or products by SKU (the same engine).
  const entity = h('select', { id: 'sync-entity' }, h('option', { value: 'customer' }, 'Customers (CustomerNumber)'), h('option', { value: 'product' }, 'Products (SKU)'));
  entity.value = params.get('entity') === 'product' ? 'product' : 'customer';
  const submit = h('button', { type: 'submit', class: 'primary', value: 'submit' }, 'Submit');
  const debug = h('button', { type: 'submit', value: 'debug' }, 'Debug');
  const result = h('div', { id: 'sync-result' });
  const progress = h('section', { class: 'card', 'aria-labelledby': 'progress-title' }, h('h2', { id: 'progress-title' }, 'Progress'), result);
  add(result, h('p', { class: 'muted' }, 'Submit a list to see each record\'s progress here.'));
  const form = h('form', { class: 'card sync-form', 'aria-labelledby': 'sync-form-title' },
    h('h2', { id: 'sync-form-title', class: 'visually-hidden' }, 'Records to sync'),
    h('label', { for: 'sync-entity' }, 'Data model'),
    entity,
    h('label', { for: 'sync-numbers', class: 'second-label' }, 'CustomerNumbers (SKUs for products)'),
    h('p', { class: 'hint', id: 'sync-hint' }, `One per line, or separated by commas or spaces; up to ${num(MAX)} customers per run. Debug jumps the queue and logs each request sent (at log level debug).`),
    text,
    h('label', { for: 'sync-ids', class: 'second-label' }, 'iPaaS.com ids'),
    h('p', { class: 'hint', id: 'sync-ids-hint' }, 'For customers without a CustomerNumber (their id is the only way to name them): whole numbers, as in the iPaaS.com address of the customer.'),
    idText, count,
    h('div', { class: 'actions' }, submit, debug));

  const update = () => {
    const { numbers, duplicates } = parseNumbers(text.value);
    const parsed = parseIds(idText.value);
    const total = numbers.length + parsed.ids.length;
    const over = total > MAX;
    const parts = [numbers.length ? plural(numbers.length, 'CustomerNumber') : '', parsed.ids.length ? plural(parsed.ids.length, 'iPaaS.com id') : ''].filter(Boolean);
    count.textContent = parsed.invalid.length
      ? `Not an iPaaS.com id (ids are whole numbers): ${parsed.invalid.slice(0, 5).join(', ')}${parsed.invalid.length > 5 ? ', …' : ''}. Put CustomerNumbers in the first box.`
      : total
        ? `${parts.join(' and ')}${duplicates + parsed.duplicates ? ` (${plural(duplicates + parsed.duplicates, 'duplicate')} left out)` : ''}${over ? ` — more than ${num(MAX)}: split the list.` : ''}`
        : 'No customers yet.';
    count.classList.toggle('form-error', over || parsed.invalid.length > 0);
    submit.disabled = debug.disabled = !total || over || parsed.invalid.length > 0;
  };
  text.addEventListener('input', update);
  idText.addEventListener('input', update);
  update();

  let runId = null;
  const poll = async () => {
    if (!runId) return;
    const run = await api('GET', `/api/runs/${runId}`);
    if (!life.alive) return;
    fill(result, ...progressView(run));
    if (run.finished) {
      announce(`Manual sync finished: ${num(run.counts.written)} synced, ${num(run.counts.skipped)} skipped, ${num(run.counts.failed)} failed`);
      runId = null;
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const isDebug = ev.submitter?.value === 'debug';
    const { numbers } = parseNumbers(text.value);
    const { ids } = parseIds(idText.value);
    submit.disabled = debug.disabled = true;
    fill(result, h('p', null, 'Queuing…'));
    try {
      const r = await api('POST', '/api/sync', { customerNumbers: numbers, ids, debug: isDebug, entity: entity.value });
      runId = r.runId;
      announce(`${plural(r.enqueued, 'record')} queued`);
      await poll();
    } catch (err) {
      fill(result, errorBox('The sync was not started', err.message, err instanceof ApiError ? err.fix : undefined));
    } finally {
      update();
    }
  });

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Manual sync'), h('p', { class: 'muted small' }, 'As on iPaaS.com\'s Manual Sync page: the records are queued and synced by the workers. Needs the admin token.')),
    h('div', { class: 'sync-layout' }, form, progress));
  life.every(700, poll);
}
