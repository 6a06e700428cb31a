// Validation: the seed's checklist, run live against iPaaS.com and OpenAI, each item with its fix.
import { api } from '../api.js';
import { viewError } from '../app.js';
import { add, announce, badge, clear, h, pageTitle } from '../dom.js';
import { dateTime } from '../format.js';

const ICON = { pass: '✔', warn: '!', fail: '✖' };

function item(r) {
  return h('li', { class: `check check-${r.status}`, dataset: { status: r.status } },
    h('span', { class: 'check-icon', 'aria-hidden': 'true' }, ICON[r.status]),
    h('div', null,
      h('p', { class: 'check-item' }, r.item, ' ', badge(r.status)),
      h('p', { class: 'check-detail' }, r.detail),
      r.fix && r.status !== 'pass' ? h('p', { class: 'fix' }, h('strong', null, 'Fix: '), r.fix) : null));
}

export async function render(root) {
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' });
  const list = h('ul', { class: 'checklist', 'aria-label': 'Validation checklist' });
  const again = h('button', { type: 'button', class: 'primary' }, 'Run the checks again');
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Validation'), h('p', { class: 'muted small' }, 'The seed\'s checklist, live: real calls to iPaaS.com and OpenAI; nothing is written.')),
    h('div', { class: 'card' }, h('div', { class: 'card-head' }, summary, again), list));

  const run = async () => {
    again.disabled = true;
    summary.textContent = 'Checking… (live calls to iPaaS.com and OpenAI)';
    clear(list);
    try {
      const v = await api('GET', '/api/validation');
      const failed = v.results.filter((r) => r.status === 'fail').length;
      const warned = v.results.filter((r) => r.status === 'warn').length;
      summary.textContent = `${failed ? `${failed} of ${v.results.length} checks failed` : `All ${v.results.length} checks passed`}${warned ? `, ${warned} with a warning` : ''} · checked ${dateTime(v.checkedAt)}`;
      summary.className = `summary ${failed ? 'summary-bad' : 'summary-ok'}`;
      add(list, ...v.results.map(item));
      announce(summary.textContent);
    } catch (err) {
      summary.textContent = '';
      add(list, h('li', null, viewError(err)));
    } finally {
      again.disabled = false;
    }
  };
  again.addEventListener('click', run);
  await run();
}
