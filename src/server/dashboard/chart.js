// Hand-drawn SVG charts (no library, no build): attempts per time bucket as stacked bars, and the
// queue depth (jobs) as a line under them. Each bucket has a tooltip, and the data is also a table.
import { h, s } from './dom.js';
import { bucketLabel, num } from './format.js';

const MIN = 60_000;
const LABEL_STEPS = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880].map((m) => m * MIN);

export const SERIES = [
  { key: 'synced', label: 'Synced', cls: 'c-synced' },
  { key: 'skipped', label: 'Skipped', cls: 'c-skipped' },
  { key: 'failed', label: 'Failed', cls: 'c-failed' },
  { key: 'retrying', label: 'Failed, will retry', cls: 'c-retrying' },
];

/** The overview's series: attempts by outcome, and the sampled queue depth in jobs. */
const seriesOf = (data) => ({ ...data.series.attempts, queued: data.series.queueDepthJobs });

/** A round axis maximum whose `ticks` steps are whole numbers (1, 2, 5 × 10^k). */
function niceMax(v, ticks) {
  const raw = Math.max(1, v / ticks);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((x) => x >= raw);
  return step * ticks;
}

function axis(g, { x0, x1, y0, y1, max, ticks = 4 }) {
  for (let i = 0; i <= ticks; i++) {
    const v = (max / ticks) * i;
    const y = y1 - ((y1 - y0) * i) / ticks;
    g.append(s('line', { x1: x0, x2: x1, y1: y, y2: y, class: 'grid' }));
    g.append(s('text', { x: x0 - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, num(v)));
  }
}

/**
 * data: { since, bucketMs, series: { attempts: { synced[], skipped[], failed[], retrying[] }, queueDepthJobs[] } }
 * width: pixels available.
 */
export function activityChart(data, width) {
  const ser = seriesOf(data);
  const n = ser.synced.length;
  // As wide as the box (a phone too); below 260 px the box scrolls rather than squeezing the bars.
  const W = Math.max(260, Math.floor(width));
  const left = 48;
  const right = 12;
  const barsH = 190;
  const queueH = 70;
  const gap = 38;
  const H = 12 + barsH + gap + queueH + 28;
  const plotW = W - left - right;
  const bw = plotW / n;
  const totals = Array.from({ length: n }, (_, i) => SERIES.reduce((a, sr) => a + ser[sr.key][i], 0));
  const max = niceMax(Math.max(...totals, 1), 4);
  const qVals = ser.queued;
  const qMax = niceMax(Math.max(1, ...qVals.filter((v) => v !== null)), 2);
  const top = 12;
  const barsBottom = top + barsH;
  const qTop = barsBottom + gap;
  const qBottom = qTop + queueH;
  const start = new Date(data.since).getTime();
  const label = `Attempts per ${bucketText(data.bucketMs)}: ${SERIES.map((sr) => `${num(sum(ser[sr.key]))} ${sr.label.toLowerCase()}`).join(', ')}. Highest queue depth (jobs) ${num(Math.max(0, ...qVals.filter((v) => v !== null)))}.`;

  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' });
  const g = s('g');
  svg.append(g);
  axis(g, { x0: left, x1: W - right, y0: top, y1: barsBottom, max });
  axis(g, { x0: left, x1: W - right, y0: qTop, y1: qBottom, max: qMax, ticks: 2 });
  g.append(s('text', { x: left, y: qTop - 8, class: 'axis-title' }, 'Queue depth (jobs)'));

  for (let i = 0; i < n; i++) {
    const x = left + i * bw;
    let y = barsBottom;
    for (const sr of SERIES) {
      const v = ser[sr.key][i];
      if (!v) continue;
      const hgt = (v / max) * barsH;
      y -= hgt;
      g.append(s('rect', { x: x + bw * 0.12, y, width: Math.max(1, bw * 0.76), height: hgt, class: sr.cls }));
    }
    const t = start + i * data.bucketMs;
    const tip = `${bucketLabel(t, data.bucketMs)}–${bucketLabel(t + data.bucketMs, data.bucketMs)}: ${SERIES.map((sr) => `${ser[sr.key][i]} ${sr.label.toLowerCase()}`).join(', ')}${qVals[i] === null ? '' : `; queue depth up to ${qVals[i]}`}`;
    g.append(s('rect', { x, y: top, width: bw, height: qBottom - top, class: 'hover' }, s('title', null, tip)));
  }

  if (totals.every((t) => t === 0)) {
    // One line where it fits, two on a narrow screen (SVG text does not wrap by itself).
    const lines = plotW >= 470 ? ['No attempts in this range yet: start one on the Manual sync page.'] : ['No attempts in this range yet:', 'start one on the Manual sync page.'];
    const note = s('text', { x: left + plotW / 2, y: top + barsH / 2 - (lines.length - 1) * 9, class: 'empty-note', 'text-anchor': 'middle' });
    lines.forEach((line, i) => note.append(s('tspan', { x: left + plotW / 2, dy: i ? 18 : 0 }, line)));
    g.append(note);
  }

  // The queue line: gaps where the service was not running (no samples).
  let d = '';
  let pen = false;
  for (let i = 0; i < n; i++) {
    const v = qVals[i];
    if (v === null) {
      pen = false;
      continue;
    }
    const x = left + i * bw + bw / 2;
    const y = qBottom - (v / qMax) * queueH;
    d += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  if (d) g.append(s('path', { d, class: 'queue-line' }));
  for (let i = 0; i < n; i++) {
    if (qVals[i] === null) continue;
    g.append(s('circle', { cx: left + i * bw + bw / 2, cy: qBottom - (qVals[i] / qMax) * queueH, r: 2.5, class: 'queue-dot' }));
  }

  // Time labels at round local times (every 10 min, 3 h, a day, …), as many as fit.
  const maxLabels = Math.max(2, Math.floor(plotW / 90));
  const step = LABEL_STEPS.find((st) => st >= data.bucketMs && (n * data.bucketMs) / st <= maxLabels) ?? LABEL_STEPS[LABEL_STEPS.length - 1];
  for (let i = 0; i < n; i++) {
    const t = start + i * data.bucketMs;
    const local = t - new Date(t).getTimezoneOffset() * 60_000;
    // Label the bucket that holds a round time (the boundary may fall inside a bucket in odd time zones).
    if (Math.floor((local + data.bucketMs - 1) / step) === Math.floor((local - 1) / step)) continue;
    g.append(s('text', { x: left + i * bw, y: qBottom + 18, class: 'tick', 'text-anchor': 'middle' }, bucketLabel(t, step)));
  }
  return svg;
}

export function legend() {
  return h('ul', { class: 'legend', 'aria-label': 'Legend' },
    SERIES.map((sr) => h('li', null, h('span', { class: `swatch ${sr.cls}`, 'aria-hidden': 'true' }), sr.label)),
    h('li', null, h('span', { class: 'swatch swatch-line', 'aria-hidden': 'true' }), 'Queue depth, jobs (sampled while the service runs)'));
}

/** The chart's numbers as a table (buckets with any activity). */
export function chartTable(data) {
  const ser = seriesOf(data);
  const start = new Date(data.since).getTime();
  const rows = [];
  for (let i = 0; i < ser.synced.length; i++) {
    const vals = SERIES.map((sr) => ser[sr.key][i]);
    const q = ser.queued[i];
    if (vals.every((v) => !v) && !q) continue;
    rows.push(h('tr', null, h('th', { scope: 'row' }, bucketLabel(start + i * data.bucketMs, data.bucketMs)), vals.map((v) => h('td', { class: 'num' }, num(v))), h('td', { class: 'num' }, q === null ? '–' : num(q))));
  }
  return h('table', { class: 'table compact' },
    h('caption', { class: 'visually-hidden' }, 'Attempts per time bucket'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'From'), SERIES.map((sr) => h('th', { scope: 'col', class: 'num' }, sr.label)), h('th', { scope: 'col', class: 'num' }, 'Queue depth (jobs)'))),
    h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: SERIES.length + 2 }, 'No attempts in this range.'))));
}

const sum = (a) => a.reduce((x, y) => x + y, 0);
function bucketText(ms) {
  if (ms < 3_600_000) return `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}`;
  return `${ms / 3_600_000} hour${ms === 3_600_000 ? '' : 's'}`;
}
