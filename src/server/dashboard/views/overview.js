// Overview: records (customers, by their latest attempt) and today's attempts (tries) side by side, the
// attempts chart, OpenAI spend, rate-limit headroom and the queue's jobs. Each figure says which it counts.
import { api } from '../api.js';
import { setParams, viewError } from '../app.js';
import { activityChart, chartTable, legend } from '../chart.js';
import { add, clear, figures, fill, h, pageTitle } from '../dom.js';
import { age, dateTime, hms, ms, num, pct, time, usd } from '../format.js';
import { retryAllControl } from './retry-all.js';

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

function card(title, value, sub, { tone, href, key } = {}) {
  return h('section', { class: `card stat${tone ? ` stat-${tone}` : ''}`, 'aria-label': title },
    h('h2', { class: 'card-title' }, href ? h('a', { href }, title) : title),
    // A long figure (a small cost to 6 decimals) in a smaller size, so that it never breaks in two.
    h('p', { class: `card-value${String(value).length > 7 ? ' card-value-long' : ''}`, dataset: key ? { figure: key } : undefined }, value),
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
  rows.push(['429s (this instance)', num(up.openaiRateLimited)]);
  rows.push(['Mean OpenAI latency (this instance)', ms(up.openaiMeanLatencyMs)]);
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
  const q = queue.jobs;
  const rows = [['Waiting', num(q.pending), 'queue.pending'], ['In flight', num(q.calling + (q.batched ?? 0) + q.answered), 'queue.inFlight'], ['Failed (dead-lettered)', num(q.failed), 'queue.failed'],
    ['Held', num(q.held), 'queue.held'], ['Written', num(q.written), 'queue.written'], ['Skipped', num(q.skipped), 'queue.skipped']];
  return h('section', { class: 'card side', 'aria-labelledby': 'queue-title' },
    h('h2', { id: 'queue-title' }, 'Queue (jobs)'),
    h('p', { class: 'small muted' }, 'One job per record per run: a record synced by two runs has two jobs.'),
    h('dl', { class: 'rows' }, rows.map(([k, v, key]) => h('div', null, h('dt', null, k), h('dd', { dataset: { figure: key } }, v))),
      h('div', null, h('dt', null, 'Workers (this instance)'), h('dd', null, workers.paused ? 'paused' : workers.running ? `running, ${workers.busy} of ${workers.concurrency} busy` : 'stopped'))),
    workers.paused ? h('p', { class: 'callout callout-warn small' }, `Paused: ${workers.paused} Retry the failed records (or POST /api/retry) once it is fixed.`) : null,
    h('p', { class: 'small' }, h('a', { href: '#/jobs' }, 'See the jobs'), ' · ', h('a', { href: '#/runs' }, 'See the runs')));
}

/** Spend against the caps in budget.* (UTC day and month); held jobs wait for the next period. */
function budgetPanel(b) {
  const cap = (c, used, fmt) => (c === undefined || c === null ? `${fmt(used)} (no cap)` : `${fmt(used)} of ${fmt(c)} (${Math.min(100, Math.round((used / c) * 100))}%)`);
  const rows = [
    ['Today, tokens', cap(b.caps.daily?.tokens, b.today.tokens, num)],
    ['Today, cost', cap(b.caps.daily?.usd, b.today.usd, usd)],
    ['This month, tokens', cap(b.caps.monthly?.tokens, b.month.tokens, num)],
    ['This month, cost', cap(b.caps.monthly?.usd, b.month.usd, usd)],
    ['Jobs held by a cap', num(b.heldJobs)],
  ];
  return h('section', { class: 'card side', 'aria-labelledby': 'budget-title' },
    h('h2', { id: 'budget-title' }, 'Budget'),
    h('dl', { class: 'rows' }, rows.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v)))),
    b.heldJobs ? h('p', { class: 'callout callout-warn small' }, 'Their jobs wait as "held: budget" and resume in the next period, or when the cap is raised and the service restarted.') : null);
}

/** The range's attempts per PromptText version: compare what a prompt change did. Each version's text expands. */
function promptVersionPanel(rows, rangeLabel) {
  const outcomes = [['synced', 'Synced'], ['skipped', 'Skipped'], ['failed', 'Failed'], ['retrying', 'Will retry']];
  const body = rows.length
    ? rows.map((v) => h('tr', { dataset: { promptVersion: v.promptVersion ?? 'none' } },
      h('th', { scope: 'row', class: 'version' }, v.promptVersion
        ? h('details', null, h('summary', { title: v.text ?? 'Its text is not kept.' }, h('code', null, v.promptVersion)),
          h('pre', { class: 'code', tabindex: '0', 'aria-label': `PromptText ${v.promptVersion}` }, v.text ?? '(its text is not kept)'))
        : h('span', { class: 'muted' }, 'none (no request built)')),
      outcomes.map(([k]) => h('td', { class: 'num', dataset: { outcome: k } }, num(v.attempts[k]))),
      h('td', { class: 'num', dataset: { outcome: 'total' } }, num(v.total)),
      h('td', { class: 'num col-optional' }, usd(v.costUsd)),
      h('td', { class: 'nowrap when col-optional' }, dateTime(v.lastAt))))
    : [h('tr', null, h('td', { colspan: 8, class: 'empty' }, `No attempts in the ${rangeLabel}.`))];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'prompt-versions' },
    h('caption', { class: 'visually-hidden' }, `Attempts by prompt version and outcome, ${rangeLabel}`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Prompt version'), outcomes.map(([, label]) => h('th', { scope: 'col', class: 'num' }, label)),
      h('th', { scope: 'col', class: 'num' }, 'Attempts'), h('th', { scope: 'col', class: 'num col-optional' }, 'Cost'), h('th', { scope: 'col', class: 'col-optional' }, 'Last used'))),
    h('tbody', null, body)));
}

/** Answers waiting for a person before write-back: how many, and how long the oldest has waited. */
function reviewCard(r) {
  const sub = r.waiting
    ? h('span', { id: 'review-oldest', dataset: { since: r.oldestSince } }, `oldest waits ${age(r.oldestAgeSeconds)} (since ${hms(r.oldestSince)})`)
    : h('span', { id: 'review-oldest' }, 'none waiting');
  return card('Waiting for review', num(r.waiting), sub, { key: 'review.waiting', href: '#/review', tone: r.waiting ? 'warn' : undefined });
}

export async function render(root, { params, life }) {
  let range = RANGES.some(([k]) => k === params.get('range')) ? params.get('range') : '24h';
  const updated = h('p', { class: 'muted small', 'aria-live': 'off' });
  const cards = h('div', { class: 'cards' });
  const chartBox = h('div', { class: 'chart-box' });
  const tableBox = h('div', { class: 'table-wrap' });
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
  const versionsTitle = h('h2', { id: 'versions-title' });
  const versionsBox = h('div');
  const retryAll = retryAllControl();
  const recordFigures = h('div');
  const attemptFigures = h('div');
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Overview'), updated),
    errorBox,
    h('div', { class: 'counts-row' },
      h('section', { class: 'card', 'aria-labelledby': 'records-title', id: 'records' },
        h('h2', { id: 'records-title' }, 'Records (customers)'),
        h('p', { class: 'small muted' }, 'Each customer once, by its latest attempt.'),
        recordFigures, retryAll),
      h('section', { class: 'card', 'aria-labelledby': 'attempts-title', id: 'attempts' },
        h('h2', { id: 'attempts-title' }, 'Attempts today'),
        h('p', { class: 'small muted' }, 'Each try counts: a record retried three times is three attempts.'),
        attemptFigures)),
    cards,
    h('div', { class: 'overview-main' },
      h('section', { class: 'card chart-card', 'aria-labelledby': 'chart-title' },
        h('div', { class: 'card-head' }, chartTitle, rangeGroup),
        legend(), chartBox,
        h('details', null, h('summary', null, 'Show the chart as a table'), tableBox)),
      side),
    h('section', { class: 'card', 'aria-labelledby': 'versions-title', id: 'versions' }, versionsTitle,
      h('p', { class: 'small muted' }, 'Which PromptText each attempt was built from, and how those attempts ended: after a prompt change, compare the versions. Open a version for its text; try one before using it in the Prompt lab.'),
      versionsBox),
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
    const r = o.records;
    const a = t.attempts;
    retryAll.update(r.failed);
    fill(recordFigures, figures([
      ['Synced', num(r.synced), 'records.synced', 'ok'], ['Skipped', num(r.skipped), 'records.skipped'],
      ['Failed', num(r.failed), 'records.failed', r.failed ? 'bad' : undefined], ['Being retried', num(r.retrying), 'records.retrying', r.retrying ? 'warn' : undefined]]));
    fill(attemptFigures, figures([
      ['Synced', num(a.synced), 'attempts.synced', 'ok'], ['Skipped', num(a.skipped), 'attempts.skipped'],
      ['Failed (final)', num(a.failed), 'attempts.failed', a.failed ? 'bad' : undefined], ['Failed, will retry', num(a.retrying), 'attempts.retrying', a.retrying ? 'warn' : undefined]]),
      h('p', { class: 'small' }, h('a', { href: '#/activity?time=today&outcome=failed' }, 'Failed attempts today'), ' · ', h('a', { href: '#/activity?time=today&outcome=retrying' }, 'Attempts that will be retried')));
    fill(cards,
      card('OpenAI calls today', num(t.openaiCalls), `attempts that called OpenAI · ${num(o.upstream.openaiRequests)} HTTP requests by this instance since it started`, { key: 'today.openaiCalls' }),
      card('Tokens today', num(t.inputTokens + t.outputTokens), `${num(t.inputTokens)} in (${num(t.cachedTokens)} cached) · ${num(t.outputTokens)} out`, { key: 'today.tokens' }),
      card('Cost today', usd(t.costUsd), h('a', { href: '#/usage' }, 'Cost and tokens over time'), { key: 'today.costUsd' }),
      card('Queue depth', num(o.queue.depthJobs), `jobs: ${num(o.queue.jobs.pending)} waiting · ${num(o.queue.depthJobs - o.queue.jobs.pending)} in flight`, { key: 'queue.depthJobs' }),
      reviewCard(o.review),
    );
    const rangeLabel = RANGES.find(([k]) => k === range)[1].toLowerCase();
    versionsTitle.textContent = `Attempts by prompt version, ${rangeLabel}`;
    // Re-drawn only when it changed, so an open version's text stays open across the 5-second refresh.
    const versionsJson = `${range} ${JSON.stringify(o.promptVersions)}`;
    if (versionsJson !== versionsBox.dataset.json) {
      versionsBox.dataset.json = versionsJson;
      fill(versionsBox, promptVersionPanel(o.promptVersions, rangeLabel));
    }
    fill(side, headroomPanel(o.rateLimit, o.upstream), queuePanel(o.queue, o.workers), ...(o.budget ? [budgetPanel(o.budget)] : []));
    chartTitle.textContent = `Attempts, ${RANGES.find(([k]) => k === range)[1].toLowerCase()}`;
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
