// Tiny DOM helpers. Every text goes in as a text node, never as HTML: customer data
// (names, comments, answers) can hold anything, including markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setProps(el, props) {
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.setAttribute('class', v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** h('p', { class: 'x' }, 'text', child) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  append(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/**
 * Appends children as h() does: null, undefined and false are left out (the DOM's own
 * append would write them as the words "null" and "undefined").
 */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces an element's children (null, undefined and false left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  return add(el, ...children);
}

/** Says something to screen readers without moving focus. */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  setTimeout(() => (region.textContent = text), 50);
}

/** A labelled field: <div><label for>..</label>control</div>. */
export function field(labelText, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, hintEl);
}

/**
 * The outcome of an attempt or the state of a job as a badge with words (colour is never the only cue).
 * `retrying`: the try failed and the queue makes another; `failed` is final.
 */
const BADGES = {
  synced: ['ok', 'Synced'], written: ['ok', 'Synced'], skipped: ['muted', 'Skipped'], failed: ['bad', 'Failed'], retrying: ['warn', 'Will retry'],
  pending: ['info', 'Queued'], calling: ['info', 'Calling OpenAI'], batched: ['info', 'In an OpenAI batch'], answered: ['info', 'Writing back'], held: ['warn', 'Held'],
  pass: ['ok', 'Pass'], warn: ['warn', 'Warning'], fail: ['bad', 'Fail'],
};
export function badge(kind) {
  const [tone, label] = BADGES[kind] ?? ['muted', kind];
  return h('span', { class: `badge badge-${tone}`, dataset: { state: kind } }, label);
}

/** A callout with an error message and what to do about it. */
export function errorBox(title, message, fix) {
  return h('div', { class: 'callout callout-bad', role: 'alert' },
    h('p', { class: 'callout-title' }, title),
    message ? h('p', null, message) : null,
    fix ? h('p', { class: 'fix' }, h('strong', null, 'Fix: '), fix) : null);
}

/** The page heading; focusable so the router can move focus to it. */
export const pageTitle = (text, ...extra) => h('h1', { tabindex: '-1' }, text, ...extra);

/** A row of labelled figures; each figure carries data-figure (what it counts) for tests and people alike. */
export function figures(items) {
  return h('dl', { class: 'figures' }, items.map(([label, value, key, tone]) =>
    h('div', { class: `figure${tone ? ` figure-${tone}` : ''}` }, h('dt', null, label), h('dd', { dataset: key ? { figure: key } : undefined }, value))));
}
