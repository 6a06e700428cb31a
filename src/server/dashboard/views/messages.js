// Messages: every webhook OpenAI sent (batch.completed, batch.expired, …), stored as a Message record before
// anything was done with it, newest first, with what came of it. Its id joins the event type and the
// batch (or response) id, as iPaaS.com's Message ids do (HOOK-12345).
import { changedPage, pager, setParams } from '../app.js';
import { add, field, fill, h, pageTitle } from '../dom.js';
import { dateTime, plural } from '../format.js';

const PAGE = 25;
const OUTCOMES = {
  received: ['info', 'Received'],
  applied: ['ok', 'Applied'],
  fallback: ['warn', 'Fallback taken'],
  'already-applied': ['muted', 'Already applied'],
  'unknown-batch': ['warn', 'Unknown batch'],
  ignored: ['muted', 'Nothing to do'],
  error: ['bad', 'Error'],
};

/** The outcome as a badge with words (colour is never the only cue), and the lines it settled. */
function outcome(m) {
  const [tone, label] = OUTCOMES[m.outcome] ?? ['muted', m.outcome];
  return [h('span', { class: `badge badge-${tone}`, dataset: { state: m.outcome } }, label), m.lines !== null ? h('span', { class: 'try small' }, plural(m.lines, 'line')) : null];
}

function row(m) {
  const replays = m.replays ? h('span', { title: `last at ${dateTime(m.lastReplayAt)}` }, `${plural(m.replays, 'replay')} ignored`) : h('span', { class: 'muted' }, '–');
  return h('tr', { dataset: { webhookId: m.webhookId, outcome: m.outcome } },
    h('td', { class: 'nowrap when' }, dateTime(m.receivedAt)),
    h('td', null, h('code', null, m.id), h('span', { class: 'muted small run-id' }, m.webhookId)),
    h('td', { class: 'outcome' }, outcome(m)),
    h('td', { class: 'reason' }, h('span', { title: m.detail ?? '' }, m.detail ?? 'Not acted on yet.'),
      h('details', null, h('summary', null, 'Body as received'), h('pre', { class: 'code' }, m.body))),
    h('td', { class: 'col-optional' }, replays));
}

export async function render(root, { params, life }) {
  const state = { outcome: params.get('outcome') ?? '', offset: Number(params.get('offset') ?? 0) || 0 };
  const select = h('select', { name: 'outcome' }, h('option', { value: '' }, 'All outcomes'),
    Object.entries(OUTCOMES).map(([k, [, label]]) => h('option', { value: k, selected: k === state.outcome }, label)));
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the messages' }, field('Outcome', select));
  form.addEventListener('submit', (ev) => ev.preventDefault());
  const pages = pager('messages-summary');
  const tbody = h('tbody');
  const errorArea = h('div');
  const fetchPage = changedPage(errorArea, life);
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Messages'),
      h('p', { class: 'muted small' }, 'Webhooks from OpenAI (POST /webhooks/openai), each stored before it is acted on: a batch that ended is applied at once; polling stays as the safety net.')),
    form, errorArea, pages.summary,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', 'aria-describedby': 'messages-summary' },
      h('caption', { class: 'visually-hidden' }, 'Messages'),
      h('thead', null, h('tr', null, ['Received', 'Message', 'Outcome', 'What happened', 'Replays'].map((c, i) => h('th', { scope: 'col', class: i === 4 ? 'col-optional' : undefined }, c)))),
      tbody)),
    pages.nav);

  const load = async () => {
    const qs = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset) });
    if (state.outcome) qs.set('outcome', state.outcome);
    const page = await fetchPage(`/api/messages?${qs}`);
    if (!page) return;
    fill(tbody, ...(page.messages.length ? page.messages.map(row) : [h('tr', null, h('td', { colspan: 5, class: 'empty' }, state.outcome ? 'No messages match.' : 'No webhooks from OpenAI yet. Point an OpenAI webhook endpoint at /webhooks/openai and set OPENAI_WEBHOOK_SECRET.'))]));
    pages.show(state.offset, page.messages.length, page.total, plural(page.total, 'message'));
  };
  const go = (offset) => {
    state.offset = Math.max(0, offset);
    setParams(new URLSearchParams({ outcome: state.outcome, offset: state.offset ? String(state.offset) : '' }));
    load();
  };
  select.addEventListener('change', () => ((state.outcome = select.value), go(0)));
  pages.prev.addEventListener('click', () => go(state.offset - PAGE));
  pages.next.addEventListener('click', () => go(state.offset + PAGE));
  await load();
  life.every(3000, () => (state.offset === 0 ? load() : undefined));
}
