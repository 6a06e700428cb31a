// Usage: OpenAI calls, tokens and cost over time, from the sync log (every instance's attempts).
import { api } from '../api.js';
import { setParams, viewError } from '../app.js';
import { barChart } from '../bar-chart.js';
import { add, clear, figures, fill, h, pageTitle } from '../dom.js';
import { bucketLabel, num, usd } from '../format.js';

const RANGES = [['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];
const sum = (a) => a.reduce((x, y) => x + y, 0);

function table(u) {
  const start = new Date(u.since).getTime();
  const rows = [];
  for (let i = u.costUsd.length - 1; i >= 0; i--) {
    if (!u.openaiCalls[i] && !u.inputTokens[i] && !u.costUsd[i]) continue;
    rows.push(h('tr', null, h('th', { scope: 'row', class: 'nowrap' }, bucketLabel(start + i * u.bucketMs, u.bucketMs)), h('td', { class: 'num' }, num(u.openaiCalls[i])),
      h('td', { class: 'num' }, `${num(u.inputTokens[i])} (${num(u.cachedTokens[i])})`), h('td', { class: 'num' }, num(u.outputTokens[i])), h('td', { class: 'num' }, usd(u.costUsd[i]))));
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'usage-table' },
    h('caption', null, 'Per time bucket, newest first (buckets without calls left out)'),
    h('thead', null, h('tr', null, ['From', 'OpenAI calls', 'Input tokens (cached)', 'Output tokens', 'Cost'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No OpenAI calls in this range.')))));
}

export async function render(root, { params, life }) {
  let range = RANGES.some(([k]) => k === params.get('range')) ? params.get('range') : '7d';
  const group = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Range' });
  const totals = h('div');
  const costBox = h('div', { class: 'chart-box' });
  const tokenBox = h('div', { class: 'chart-box' });
  const tableBox = h('div');
  const errorArea = h('div');
  let last = null;
  for (const [key, label] of RANGES) {
    const b = h('button', { type: 'button', 'aria-pressed': String(key === range), dataset: { range: key } }, label);
    b.addEventListener('click', () => {
      range = key;
      for (const x of group.children) x.setAttribute('aria-pressed', String(x.dataset.range === range));
      setParams(new URLSearchParams({ range }));
      load();
    });
    group.append(b);
  }
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Usage'), h('p', { class: 'muted small' }, 'OpenAI calls, tokens and cost of every sync attempt, per time bucket, from the shared sync log.')),
    errorArea,
    h('section', { class: 'card', 'aria-labelledby': 'usage-title' }, h('div', { class: 'card-head' }, h('h2', { id: 'usage-title' }, 'In this range'), group), totals),
    h('section', { class: 'card', 'aria-labelledby': 'cost-title' }, h('h2', { id: 'cost-title' }, 'Cost'), costBox),
    h('section', { class: 'card', 'aria-labelledby': 'tokens-title' }, h('h2', { id: 'tokens-title' }, 'Tokens (input + output)'), tokenBox),
    h('section', { class: 'card', 'aria-labelledby': 'usage-table-title' }, h('h2', { id: 'usage-table-title' }, 'As a table'), tableBox));

  const draw = () => {
    if (!last) return;
    const u = last;
    const common = { since: u.since, bucketMs: u.bucketMs };
    fill(costBox, barChart({ ...common, values: u.costUsd, width: costBox.clientWidth || 900, label: `Cost per bucket; ${usd(sum(u.costUsd))} in all.`, format: usd, cls: 'c-cost' }));
    const tokens = u.inputTokens.map((v, i) => v + u.outputTokens[i]);
    fill(tokenBox, barChart({ ...common, values: tokens, width: tokenBox.clientWidth || 900, label: `Tokens per bucket; ${num(sum(tokens))} in all.`, format: (v) => num(Math.round(v)), cls: 'c-tokens' }));
  };
  const load = async () => {
    let u;
    try {
      u = await api('GET', `/api/usage?range=${range}`);
      clear(errorArea);
    } catch (err) {
      fill(errorArea, viewError(err));
      return;
    }
    if (!life.alive) return;
    last = u;
    fill(totals, figures([
      ['OpenAI calls', num(sum(u.openaiCalls)), 'usage.openaiCalls'], ['Input tokens', num(sum(u.inputTokens)), 'usage.inputTokens'],
      ['of them cached', num(sum(u.cachedTokens)), 'usage.cachedTokens'], ['Output tokens', num(sum(u.outputTokens)), 'usage.outputTokens'], ['Cost', usd(sum(u.costUsd)), 'usage.costUsd']]));
    draw();
    fill(tableBox, table(u));
  };
  await load();
  life.every(15000, load);
  let resizeTimer;
  life.on(window, 'resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 150);
  });
}
