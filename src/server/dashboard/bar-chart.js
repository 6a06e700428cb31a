// One series per time bucket as bars (SVG, no library): the usage page's cost and tokens.
import { s } from './dom.js';
import { bucketLabel } from './format.js';

/** values: numbers per bucket, oldest first; format: how a value reads (axis, tooltips). */
export function barChart({ values, since, bucketMs, width, label, format, cls }) {
  const W = Math.max(260, Math.floor(width));
  const H = 170;
  const left = 78;
  const right = 10;
  const top = 10;
  const bottom = H - 24;
  const plotW = W - left - right;
  const bw = plotW / values.length;
  const max = Math.max(...values, 0) || 1;
  const start = new Date(since).getTime();
  const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart' });
  for (const f of [0, 0.5, 1]) {
    const y = bottom - (bottom - top) * f;
    svg.append(s('line', { x1: left, x2: W - right, y1: y, y2: y, class: 'grid' }), s('text', { x: left - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, format(max * f)));
  }
  values.forEach((v, i) => {
    const t = start + i * bucketMs;
    const x = left + i * bw;
    const hgt = (v / max) * (bottom - top);
    if (v > 0) svg.append(s('rect', { x: x + bw * 0.12, y: bottom - hgt, width: Math.max(1, bw * 0.76), height: hgt, class: cls }));
    svg.append(s('rect', { x, y: top, width: bw, height: bottom - top, class: 'hover' }, s('title', null, `${bucketLabel(t, bucketMs)}: ${format(v)}`)));
  });
  const every = Math.max(1, Math.ceil(values.length / Math.max(2, Math.floor(plotW / 90))));
  for (let i = 0; i < values.length; i += every) svg.append(s('text', { x: left + i * bw, y: H - 6, class: 'tick' }, bucketLabel(start + i * bucketMs, bucketMs)));
  return svg;
}
