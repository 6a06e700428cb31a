// Activity: every sync attempt, searchable and paged; filter by outcome and time.
import { api } from '../api.js';
import { setParams, viewError } from '../app.js';
import { add, badge, clear, field, fill, h, pageTitle } from '../dom.js';
import { dateTime, ms, num, usd, who } from '../format.js';

const PAGE = 25;
const TIMES = [
  ['', 'Any time'],
  ['1h', 'Last hour'],
  ['today', 'Today'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
  ['custom', 'Custom range…'],
];

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
  const tr = h('tr', { class: 'clickable', dataset: { attemptId: a.id, outcome: a.outcome } },
    h('td', { class: 'num muted col-optional' }, `#${a.id}`),
    h('td', { class: 'nowrap when' }, dateTime(a.finishedAt)),
    h('td', null, link),
    h('td', { class: 'col-optional' }, a.trigger),
    h('td', null, badge(a.outcome)),
    h('td', { class: 'reason' }, a.reason ? h('span', { title: a.reason }, a.reason) : h('span', { class: 'muted' }, '–'), a.flags?.length ? h('span', { class: 'flag', title: a.flags.join('\n') }, ' ⚑') : null),
    h('td', { class: 'num nowrap' }, ms(a.totalMs)),
    h('td', { class: 'num nowrap' }, a.inputTokens || a.outputTokens ? `${num(a.inputTokens)} / ${num(a.outputTokens)}` : '–'),
    h('td', { class: 'num nowrap cost' }, usd(a.costUsd)));
  // The whole row is a click target for the mouse; keyboard users have the link.
  tr.addEventListener('click', (ev) => {
    if (!(ev.target instanceof HTMLAnchorElement)) location.hash = `#/attempt/${a.id}`;
  });
  return tr;
}

export async function render(root, { params, life }) {
  const state = {
    q: params.get('q') ?? '', outcome: params.get('outcome') ?? '', time: params.get('time') ?? '',
    from: params.get('from') ?? '', to: params.get('to') ?? '', offset: Number(params.get('offset') ?? 0) || 0,
  };
  const q = h('input', { type: 'search', name: 'q', value: state.q, placeholder: 'CustomerNumber, id or reason' });
  const outcome = h('select', { name: 'outcome' }, [['', 'All outcomes'], ['synced', 'Synced'], ['skipped', 'Skipped'], ['failed', 'Failed']].map(([v, l]) => h('option', { value: v, selected: v === state.outcome }, l)));
  const time = h('select', { name: 'time' }, TIMES.map(([v, l]) => h('option', { value: v, selected: v === state.time }, l)));
  const from = h('input', { type: 'datetime-local', name: 'from', value: state.from });
  const to = h('input', { type: 'datetime-local', name: 'to', value: state.to });
  const custom = h('div', { class: 'custom-range', hidden: state.time !== 'custom' }, field('From', from), field('To', to));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the activity' },
    field('Search', q), field('Outcome', outcome), field('Time', time), custom,
    h('div', { class: 'field field-button' }, h('button', { type: 'submit', class: 'primary' }, 'Apply')));
  const summary = h('p', { class: 'muted', id: 'activity-summary', 'aria-live': 'polite' });
  const tbody = h('tbody');
  const errorBox = h('div');
  const prev = h('button', { type: 'button' }, '← Newer');
  const next = h('button', { type: 'button' }, 'Older →');
  let lastJson = '';

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Activity'), h('p', { class: 'muted small' }, 'Every sync attempt, newest first. Open one to see the request, the response and the fields written.')),
    form, errorBox, summary,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-describedby': 'activity-summary' },
      h('caption', { class: 'visually-hidden' }, 'Sync attempts'),
      // On a phone the # and Trigger columns fold away (both are on the record's page) so that
      // Outcome is in view; the rest scroll inside .table-wrap, never the page.
      h('thead', null, h('tr', null, ['#', 'Finished', 'Customer', 'Trigger', 'Outcome', 'Reason', 'Duration', 'Tokens in / out', 'Cost'].map((c, i) => h('th', { scope: 'col', class: [i === 0 || i >= 6 ? 'num' : '', i === 0 || i === 3 ? 'col-optional' : ''].filter(Boolean).join(' ') || undefined }, c)))),
      tbody)),
    h('nav', { class: 'pager', 'aria-label': 'Pages' }, prev, next));

  time.addEventListener('change', () => (custom.hidden = time.value !== 'custom'));
  const load = async () => {
    const qs = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    if (state.q) qs.set('q', state.q);
    if (state.outcome) qs.set('outcome', state.outcome);
    const since = sinceOf(state.time, state.from);
    if (since) qs.set('since', since);
    if (state.time === 'custom' && state.to) qs.set('until', new Date(state.to).toISOString());
    let page;
    try {
      page = await api('GET', `/api/activity?${qs}`);
      clear(errorBox);
    } catch (err) {
      fill(errorBox, viewError(err));
      return;
    }
    if (!life.alive) return;
    const json = JSON.stringify(page);
    if (json === lastJson) return; // nothing new: keep the rows (and any focus inside them)
    lastJson = json;
    fill(tbody, ...(page.items.length ? page.items.map(row) : [h('tr', null, h('td', { colspan: 9, class: 'empty' }, 'No sync attempts match. Start one on the Manual sync page.'))]));
    const first = page.total ? page.offset + 1 : 0;
    summary.textContent = `Showing ${num(first)}–${num(page.offset + page.items.length)} of ${num(page.total)} attempts`;
    prev.disabled = page.offset === 0;
    next.disabled = page.offset + page.items.length >= page.total;
  };
  const apply = () => {
    setParams(new URLSearchParams({ q: state.q, outcome: state.outcome, time: state.time, from: state.time === 'custom' ? state.from : '', to: state.time === 'custom' ? state.to : '', offset: state.offset ? String(state.offset) : '' }));
    return load();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(state, { q: q.value.trim(), outcome: outcome.value, time: time.value, from: from.value, to: to.value, offset: 0 });
    apply();
  });
  outcome.addEventListener('change', () => form.requestSubmit());
  prev.addEventListener('click', () => ((state.offset = Math.max(0, state.offset - PAGE)), apply()));
  next.addEventListener('click', () => ((state.offset += PAGE), apply()));

  await load();
  // New attempts appear on their own while the first page is shown.
  life.every(5000, () => (state.offset === 0 ? load() : undefined));
}
