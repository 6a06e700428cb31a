// Overview: today's numbers, the records chart, rate-limit headroom and the queue.
import { api } from '../api.js';
import { setParams, viewError } from '../app.js';
import { activityChart, chartTable, legend } from '../chart.js';
import { add, clear, fill, h, pageTitle } from '../dom.js';
import { dateTime, ms, num, pct, time, usd } from '../format.js';

const RANGES = [
  ['1h', 'Last hour'],
  ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'],
];

function localMidnightIso() {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.toISOString();
}

function card(title, value, sub, { tone, href } = {}) {
  return h('section', { class: `card stat${tone ? ` stat-${tone}` : ''}`, 'aria-label': title },
    h('h2', { class: 'card-title' }, href ? h('a', { href }, title) : title),
    // A long figure (a small cost to 6 decimals) in a smaller size, so that it never breaks in two.
    h('p', { class: `card-value${String(value).length > 7 ? ' card-value-long' : ''}` }, value),
    sub ? h('p', { class: 'card-sub' }, sub) : null);
}

function headroomPanel(rl, up) {
  // Until OpenAI's x-ratelimit headers have been seen there is no limit to measure against: the
  // service reports headroom 1 then, which would read as "100 %" of a limit nobody knows.
  const known = rl.rpmLimit !== undefined || rl.tpmLimit !== undefined;
  const rows = [];
  if (rl.remainingRequests !== undefined) rows.push(['Requests left', `${num(rl.remainingRequests)} of ${num(rl.rpmLimit)}`]);
  if (rl.remainingTokens !== undefined) rows.push(['Tokens left', `${num(rl.remainingTokens)} of ${num(rl.tpmLimit)}`]);
  rows.push(['In flight', `${num(rl.inFlight)} (up to ${num(rl.concurrency)} at once)`]);
  rows.push(['429s since start', num(up.openaiRateLimited)]);
  rows.push(['Mean OpenAI latency', ms(up.openaiMeanLatencyMs)]);
  if (rl.pausedUntil) rows.push(['Paused until', `${time(rl.pausedUntil)} (retry-after)`]);
  return h('section', { class: 'card side', 'aria-labelledby': 'headroom-title' },
    h('h2', { id: 'headroom-title' }, 'Rate-limit headroom'),
    known
      ? [h('p', { class: 'card-value', id: 'headroom-value' }, pct(rl.headroom)),
        h('meter', { min: 0, max: 1, low: 0.2, high: 0.5, optimum: 1, value: rl.headroom, 'aria-labelledby': 'headroom-title' })]
      : [h('p', { class: 'card-value card-value-text', id: 'headroom-value' }, 'No limit known yet'),
        h('p', { class: 'small muted', id: 'headroom-note' }, 'It is learnt from OpenAI\'s x-ratelimit headers on the first call.')],
    h('dl', { class: 'rows' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))));
}

function queuePanel(queue, workers) {
  const q = queue.counts;
  const rows = [['Waiting', num(q.pending)], ['In flight', num(q.calling + (q.batched ?? 0) + q.answered)], ['Failed (dead-lettered)', num(q.failed)], ['Held', num(q.held)],
    ['Workers', workers.paused ? 'paused' : workers.running ? `running, ${workers.busy} of ${workers.concurrency} busy` : 'stopped']];
  return h('section', { class: 'card side', 'aria-labelledby': 'queue-title' },
    h('h2', { id: 'queue-title' }, 'Queue'),
    h('dl', { class: 'rows' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    workers.paused ? h('p', { class: 'callout callout-warn small' }, `Paused: ${workers.paused} Retry a record (or POST /api/retry) once it is fixed.`) : null,
    q.failed ? h('p', { class: 'small' }, h('a', { href: '#/activity?outcome=failed' }, 'See the failed records')) : null);
}

/** Spend against the caps in budget.* (UTC day and month); held records wait for the next period. */
function budgetPanel(b) {
  const cap = (c, used, fmt) => (c === undefined || c === null ? `${fmt(used)} (no cap)` : `${fmt(used)} of ${fmt(c)} (${Math.min(100, Math.round((used / c) * 100))}%)`);
  const rows = [
    ['Today, tokens', cap(b.caps.daily?.tokens, b.today.tokens, num)],
    ['Today, cost', cap(b.caps.daily?.usd, b.today.usd, usd)],
    ['This month, tokens', cap(b.caps.monthly?.tokens, b.month.tokens, num)],
    ['This month, cost', cap(b.caps.monthly?.usd, b.month.usd, usd)],
    ['Held by a cap', num(b.held)],
  ];
  return h('section', { class: 'card side', 'aria-labelledby': 'budget-title' },
    h('h2', { id: 'budget-title' }, 'Budget'),
    h('dl', { class: 'rows' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    b.held ? h('p', { class: 'callout callout-warn small' }, 'Records wait as "held: budget" and resume in the next period, or when the cap is raised and the service restarted.') : null);
}

export async function render(root, { params, life }) {
  let range = RANGES.some(([k]) => k === params.get('range')) ? params.get('range') : '24h';
  const updated = h('p', { class: 'muted small', 'aria-live': 'off' });
  const cards = h('div', { class: 'cards' });
  const chartBox = h('div', { class: 'chart-box' });
  const tableBox = h('div');
  const errorBox = h('div');
  const rangeGroup = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Chart range' });
  const chartTitle = h('h2', { id: 'chart-title' });
  let last = null;

  for (const [key, label] of RANGES) {
    const b = h('button', { type: 'button', 'aria-pressed': String(key === range), dataset: { range: key } }, label);
    b.addEventListener('click', () => {
      range = key;
      for (const x of rangeGroup.children) x.setAttribute('aria-pressed', String(x.dataset.range === range));
      setParams(new URLSearchParams({ range }));
      load();
    });
    rangeGroup.append(b);
  }

  const side = h('div', { class: 'side-col' });
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Overview'), updated),
    errorBox,
    cards,
    h('div', { class: 'overview-main' },
      h('section', { class: 'card chart-card', 'aria-labelledby': 'chart-title' },
        h('div', { class: 'card-head' }, chartTitle, rangeGroup),
        legend(), chartBox,
        h('details', null, h('summary', null, 'Show the chart as a table'), tableBox)),
      side),
  );

  const draw = () => {
    if (!last) return;
    fill(chartBox, activityChart(last, chartBox.clientWidth || 900));
  };

  const load = async () => {
    let o;
    try {
      o = await api('GET', `/api/overview?range=${range}&dayStart=${encodeURIComponent(localMidnightIso())}`);
      clear(errorBox);
    } catch (err) {
      fill(errorBox, viewError(err));
      return;
    }
    if (!life.alive) return;
    last = o;
    const t = o.today;
    fill(cards,
      card('Synced today', num(t.synced), 'records written back', { tone: 'ok', href: '#/activity?outcome=synced&time=today' }),
      card('Skipped today', num(t.skipped), 'no call needed', { href: '#/activity?outcome=skipped&time=today' }),
      card('Failed today', num(t.failed), t.failed ? 'each says why and how to fix it' : 'nothing to fix', { tone: t.failed ? 'bad' : undefined, href: '#/activity?outcome=failed&time=today' }),
      card('Queue depth', num(o.queue.depth), `${num(o.queue.counts.pending)} waiting · ${num(o.queue.depth - o.queue.counts.pending)} in flight`),
      card('OpenAI calls', num(t.openaiCalls), `today · ${num(o.upstream.openaiRequests)} HTTP requests since start`),
      card('Tokens today', num(t.inputTokens + t.outputTokens), `${num(t.inputTokens)} in (${num(t.cachedTokens)} cached) · ${num(t.outputTokens)} out`),
      card('Cost today', usd(t.costUsd), 'from the per-model price table'),
    );
    fill(side, headroomPanel(o.rateLimit, o.upstream), queuePanel(o.queue, o.workers), ...(o.budget ? [budgetPanel(o.budget)] : []));
    chartTitle.textContent = `Records, ${RANGES.find(([k]) => k === range)[1].toLowerCase()}`;
    draw();
    fill(tableBox, chartTable(o));
    updated.textContent = `Updated ${dateTime(o.generatedAt)} · refreshes every 5 s`;
  };

  await load();
  life.every(5000, load);
  let resizeTimer;
  life.on(window, 'resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 150);
  });
}
