// Activity: every sync attempt (one try at one record), searchable and paged; filter by outcome,
// trigger, error code and time; export the same list as CSV.
import { api, ApiError, download } from '../api.js';
import { changedPage, pager, setParams } from '../app.js';
import { add, announce, badge, errorBox, field, fill, h, pageTitle } from '../dom.js';
import { dateTime, ms, num, tryText, usd, who } from '../format.js';

const PAGE = 25;
const TIMES = [
  ['', 'Any time'],
  ['1h', 'Last hour'],
  ['today', 'Today'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['custom', 'Custom range…'],
];
const OUTCOMES = [['', 'All outcomes'], ['synced', 'Synced'], ['skipped', 'Skipped'], ['failed', 'Failed (final)'], ['retrying', 'Failed, will retry']];
const FILTERS = ['q', 'outcome', 'trigger', 'errorCode'];

function sinceOf(time, from) {
  const now = Date.now();
  if (time === '1h') return new Date(now - 3_600_000).toISOString();
  if (time === '24h') return new Date(now - 86_400_000).toISOString();
  if (time === '7d') return new Date(now - 7 * 86_400_000).toISOString();
  if (time === 'today') {
    const d = new Date();
    d.setHours(0, 0, 0, 0);
    return d.toISOString();
  }
  if (time === 'custom' && from) return new Date(from).toISOString();
  return '';
}

function row(a) {
  const link = h('a', { href: `#/attempt/${a.id}`, 'aria-label': `${who(a)}, attempt ${a.id}, ${a.outcome}` }, who(a));
  const tries = tryText(a);
  const tr = h('tr', { class: 'clickable', dataset: { attemptId: a.id, outcome: a.outcome } },
    h('td', { class: 'num muted col-optional' }, `#${a.id}`),
    h('td', { class: 'nowrap when' }, dateTime(a.finishedAt)),
    h('td', { class: 'nowrap' }, link),
    h('td', { class: 'col-optional' }, a.trigger),
    h('td', { class: 'outcome' }, badge(a.outcome), tries ? h('span', { class: 'try small' }, tries) : null),
    h('td', { class: 'reason' }, a.reason ? h('span', { title: a.reason }, a.errorCode ? `[${a.errorCode}] ` : '', a.reason) : h('span', { class: 'muted' }, '–'), a.flags?.length ? h('span', { class: 'flag', title: a.flags.join('\n') }, ' ⚑') : null),
    h('td', { class: 'instance small' }, a.instance ?? '–'),
    h('td', { class: 'num nowrap' }, ms(a.totalMs)),
    h('td', { class: 'num nowrap' }, a.inputTokens || a.outputTokens ? `${num(a.inputTokens)} / ${num(a.outputTokens)}` : '–'),
    h('td', { class: 'num nowrap cost' }, usd(a.costUsd)));
  // The whole row is a click target for the mouse; keyboard users have the link.
  tr.addEventListener('click', (ev) => {
    if (!(ev.target instanceof HTMLAnchorElement)) location.hash = `#/attempt/${a.id}`;
  });
  return tr;
}

const options = (list, current) => list.map(([v, l]) => h('option', { value: v, selected: v === current }, l));

export async function render(root, { params, life }) {
  const state = Object.fromEntries([...FILTERS, 'time', 'from', 'to'].map((k) => [k, params.get(k) ?? '']));
  state.offset = Number(params.get('offset') ?? 0) || 0;
  const q = h('input', { type: 'search', name: 'q', value: state.q, placeholder: 'CustomerNumber, id or reason' });
  const outcome = h('select', { name: 'outcome' }, options(OUTCOMES, state.outcome));
  const trigger = h('select', { name: 'trigger' }, options([['', 'All triggers'], ...(state.trigger ? [[state.trigger, state.trigger]] : [])], state.trigger));
  const errorCode = h('select', { name: 'errorCode' }, options([['', 'All error codes'], ...(state.errorCode ? [[state.errorCode, state.errorCode]] : [])], state.errorCode));
  const time = h('select', { name: 'time' }, options(TIMES, state.time));
  const from = h('input', { type: 'datetime-local', name: 'from', value: state.from });
  const to = h('input', { type: 'datetime-local', name: 'to', value: state.to });
  const custom = h('div', { class: 'custom-range', hidden: state.time !== 'custom' }, field('From', from), field('To', to));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the activity' },
    field('Search', q), field('Outcome', outcome), field('Trigger', trigger), field('Error code', errorCode), field('Time', time), custom,
    h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  const exportButton = h('button', { type: 'button', id: 'export-csv' }, 'Export CSV');
  const exportStatus = h('div', { role: 'status', 'aria-live': 'polite', class: 'small' });
  const pages = pager('activity-summary');
  const tbody = h('tbody');
  const errorArea = h('div');
  const fetchPage = changedPage(errorArea, life);

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Activity'), h('p', { class: 'muted small' }, 'Every sync attempt (one try at one record), newest first. Open one to see the request, the response and the fields written.')),
    form, errorArea,
    h('div', { class: 'list-head' }, pages.summary, h('div', { class: 'export' }, exportButton, exportStatus)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-describedby': 'activity-summary' },
      h('caption', { class: 'visually-hidden' }, 'Sync attempts'),
      // On a phone the # and Trigger columns fold away (both are on the record's page) so that
      // Outcome is in view; the rest scroll inside .table-wrap, never the page.
      h('thead', null, h('tr', null, ['#', 'Finished', 'Customer', 'Trigger', 'Outcome', 'Reason', 'Instance', 'Duration', 'Tokens in / out', 'Cost'].map((c, i) => h('th', { scope: 'col', class: [i === 0 || i >= 7 ? 'num' : '', i === 0 || i === 3 ? 'col-optional' : ''].filter(Boolean).join(' ') || undefined }, c)))),
      tbody)),
    pages.nav);

  // The values the trigger and error-code filters take: those seen in the last 30 days.
  api('GET', '/api/activity/facets').then((f) => {
    if (!life.alive) return;
    const fillSelect = (select, all, values, current) => fill(select, ...options([['', all], ...values.map((v) => [v.value, `${v.value} (${num(v.attempts)})`]), ...(current && !values.some((v) => v.value === current) ? [[current, current]] : [])], current));
    fillSelect(trigger, 'All triggers', f.triggers, state.trigger);
    fillSelect(errorCode, 'All error codes', f.errorCodes, state.errorCode);
  }, () => undefined);

  const filterParams = () => {
    const qs = new URLSearchParams();
    for (const k of FILTERS) if (state[k]) qs.set(k, state[k]);
    const since = sinceOf(state.time, state.from);
    if (since) qs.set('since', since);
    if (state.time === 'custom' && state.to) qs.set('until', new Date(state.to).toISOString());
    return qs;
  };

  time.addEventListener('change', () => (custom.hidden = time.value !== 'custom'));
  const load = async () => {
    const qs = filterParams();
    qs.set('limit', String(PAGE));
    qs.set('offset', String(state.offset));
    const page = await fetchPage(`/api/activity?${qs}`);
    if (!page) return;
    fill(tbody, ...(page.items.length ? page.items.map(row) : [h('tr', null, h('td', { colspan: 10, class: 'empty' }, 'No sync attempts match. Start one on the Manual sync page.'))]));
    pages.show(page.offset, page.items.length, page.total, `${num(page.total)} attempts`);
  };
  const apply = () => {
    setParams(new URLSearchParams({ ...Object.fromEntries(FILTERS.map((k) => [k, state[k]])), time: state.time, from: state.time === 'custom' ? state.from : '', to: state.time === 'custom' ? state.to : '', offset: state.offset ? String(state.offset) : '' }));
    return load();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(state, { q: q.value.trim(), outcome: outcome.value, trigger: trigger.value, errorCode: errorCode.value, time: time.value, from: from.value, to: to.value, offset: 0 });
    apply();
  });
  for (const select of [outcome, trigger, errorCode]) select.addEventListener('change', () => form.requestSubmit());
  pages.prev.addEventListener('click', () => ((state.offset = Math.max(0, state.offset - PAGE)), apply()));
  pages.next.addEventListener('click', () => ((state.offset += PAGE), apply()));
  // The whole filtered list (every page), as the service streams it; never a secret, never a request body.
  exportButton.addEventListener('click', async () => {
    exportButton.disabled = true;
    fill(exportStatus, 'Preparing the CSV…');
    try {
      const name = await download(`/api/activity.csv?${filterParams()}`);
      fill(exportStatus, `Saved ${name}.`);
      announce('CSV export saved');
    } catch (err) {
      fill(exportStatus, errorBox('Could not export the activity', err.message, err instanceof ApiError ? err.fix : undefined));
    } finally {
      exportButton.disabled = false;
    }
  });

  await load();
  // New attempts appear on their own while the first page is shown.
  life.every(5000, () => (state.offset === 0 ? load() : undefined));
}
