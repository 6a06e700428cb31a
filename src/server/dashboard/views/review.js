// Review: the answers waiting for a person before anything is written (sync.review: required), one per
// row with what each would write (before -> after). Approve one or many (the service writes them, no new
// OpenAI call), or reject them with a reason (nothing written; logged as skipped with the reason).
import { api, ApiError } from '../api.js';
import { viewError } from '../app.js';
import { add, announce, clear, errorBox, fill, h, pageTitle } from '../dom.js';
import { age, dateTime, hms, plural } from '../format.js';
import { refreshReviewCount } from '../nav-count.js';

/** Approvals and rejections per call: the API takes at most this many job ids at once. */
const CHUNK = 3000;

const sinceText = (iso) => `waiting ${age((Date.now() - new Date(iso).getTime()) / 1000)}, since ${dateTime(iso)}`;
const show = (v) => (v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '(empty)') : String(v));

/** The writes an answer proposes; unchanged fields say so instead of repeating the value. */
function proposalTable(item, who) {
  const proposal = Array.isArray(item.answer?.proposal) ? item.answer.proposal : [];
  if (!proposal.length) return h('p', { class: 'muted' }, 'This answer proposes no writes.');
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table writes compact' },
    h('caption', { class: 'visually-hidden' }, `What the answer for ${who} would write, before and after`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Now'), h('th', { scope: 'col', class: 'arrow', 'aria-hidden': 'true' }, ''), h('th', { scope: 'col' }, 'Would write'))),
    h('tbody', null, proposal.map((w) => {
      const unchanged = w.skipped || w.before === w.after;
      return h('tr', { dataset: { field: w.field, change: unchanged ? 'none' : 'changes' } },
        h('th', { scope: 'row' }, w.field),
        h('td', { class: 'pre-wrap before' }, show(w.before)),
        h('td', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
        h('td', { class: 'pre-wrap after' }, unchanged ? h('span', { class: 'muted' }, w.skipped ? `unchanged: ${w.skipped}` : 'unchanged') : show(w.after)));
    }))));
}

export async function render(root, { life }) {
  const selected = new Set();
  let items = [];
  let lastJson = '';
  const summary = h('p', { class: 'muted', id: 'review-summary', 'aria-live': 'polite' });
  const list = h('ol', { class: 'review-list', 'aria-label': 'Answers waiting for review' });
  const errorArea = h('div');
  const status = h('div', { class: 'review-status', role: 'status', 'aria-live': 'polite' });
  const all = h('input', { type: 'checkbox', id: 'review-select-all' });
  const approve = h('button', { type: 'button', class: 'primary', id: 'review-approve' });
  const rejectOpen = h('button', { type: 'button', id: 'review-reject-open', 'aria-expanded': 'false', 'aria-controls': 'review-reject-panel' });
  const reason = h('textarea', { id: 'review-reason', rows: 2, maxlength: 500, 'aria-describedby': 'review-reason-hint' });
  const rejectYes = h('button', { type: 'button', class: 'primary', id: 'review-reject' }, 'Reject');
  const rejectNo = h('button', { type: 'button', id: 'review-reject-cancel' }, 'Cancel');
  const reasonError = h('p', { class: 'form-error', id: 'review-reason-error', role: 'alert' });
  const question = h('p', { id: 'review-reject-question' });
  const rejectPanel = h('div', { class: 'confirm', id: 'review-reject-panel', role: 'group', 'aria-labelledby': 'review-reject-question', hidden: true },
    question,
    h('label', { for: 'review-reason' }, 'Reason'),
    h('p', { class: 'hint', id: 'review-reason-hint' }, 'Kept in the sync log with each rejected record (e.g. "tone too casual"). Nothing is written to iPaaS.com.'),
    reason, reasonError, h('div', { class: 'actions' }, rejectYes, rejectNo));
  const toolbar = h('div', { class: 'review-toolbar' },
    h('div', { class: 'check-field' }, all, h('label', { for: 'review-select-all' }, 'Select all')),
    h('div', { class: 'actions' }, approve, rejectOpen));

  const ids = () => items.filter((i) => selected.has(i.jobId)).map((i) => i.jobId);
  const sync = () => {
    const n = ids().length;
    approve.textContent = n ? `Approve ${plural(n, 'answer')}` : 'Approve selected';
    rejectOpen.textContent = n ? `Reject ${plural(n, 'answer')}…` : 'Reject selected…';
    approve.disabled = rejectOpen.disabled = n === 0;
    all.checked = items.length > 0 && n === items.length;
    all.indeterminate = n > 0 && n < items.length;
    all.disabled = items.length === 0;
    for (const box of list.querySelectorAll('input[type="checkbox"]')) box.checked = selected.has(Number(box.value));
    if (n === 0 && !rejectPanel.hidden) showReject(false);
    question.textContent = `Reject ${plural(n, 'answer')}? Nothing is written; each record is logged as skipped with the reason.`;
  };
  const showReject = (on) => {
    rejectPanel.hidden = !on;
    rejectOpen.setAttribute('aria-expanded', String(on));
    reasonError.textContent = '';
    (on ? reason : rejectOpen).focus();
  };

  const row = (item) => {
    const who = item.ref;
    const box = h('input', { type: 'checkbox', value: String(item.jobId), id: `review-job-${item.jobId}`, checked: selected.has(item.jobId) });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(item.jobId);
      else selected.delete(item.jobId);
      sync();
    });
    const version = item.answer?.promptVersion;
    return h('li', { class: 'card review-item', dataset: { jobId: item.jobId, ref: item.ref } },
      h('div', { class: 'review-head' },
        h('div', { class: 'check-field' }, box, h('label', { for: box.id }, h('span', { class: 'visually-hidden' }, 'Select '), who)),
        h('p', { class: 'small muted review-meta' },
          item.customerId ? `iPaaS id ${item.customerId} · ` : '',
          h('span', { class: 'review-since', dataset: { since: item.since } }, sinceText(item.since)),
          version ? [' · prompt ', h('code', null, version)] : null,
          ' · ', h('a', { href: `#/jobs?ref=${encodeURIComponent(item.ref)}` }, `job #${item.jobId}`))),
      proposalTable(item, who));
  };

  const load = async () => {
    let r;
    try {
      r = await api('GET', '/api/review');
      clear(errorArea);
    } catch (err) {
      fill(errorArea, viewError(err));
      return;
    }
    if (!life.alive) return;
    const json = JSON.stringify(r.items);
    if (json === lastJson) {
      // Unchanged: only the waiting times move on.
      for (const el of list.querySelectorAll('.review-since')) el.textContent = sinceText(el.dataset.since);
      return;
    }
    lastJson = json;
    items = r.items;
    // A selection survives a refresh for the answers still waiting; focus stays on the same checkbox.
    const live = new Set(items.map((i) => i.jobId));
    for (const id of [...selected]) if (!live.has(id)) selected.delete(id);
    const focused = document.activeElement?.id;
    fill(list, ...items.map(row));
    if (!items.length) add(list, h('li', { class: 'empty muted' }, 'No answers wait for review. With sync.review: required (or a TO collection\'s review), each answer waits here before anything is written to iPaaS.com.'));
    if (focused?.startsWith('review-job-')) document.getElementById(focused)?.focus();
    summary.textContent = r.waiting
      ? `${plural(r.waiting, 'answer')} waiting; the oldest since ${hms(r.oldestSince)} (${age((Date.now() - new Date(r.oldestSince).getTime()) / 1000)})`
      : 'Nothing waits.';
    sync();
  };

  const decide = async (label, send) => {
    const chosen = ids();
    approve.disabled = rejectOpen.disabled = rejectYes.disabled = true;
    const done = [];
    try {
      for (let i = 0; i < chosen.length; i += CHUNK) done.push(...(await send(chosen.slice(i, i + CHUNK))));
      fill(status, h('p', { class: 'review-done' }, `${plural(done.length, 'answer')} ${label}. `, label === 'approved' ? h('a', { href: '#/jobs?state=answered' }, 'Follow the writes on the Jobs page') : h('a', { href: '#/activity?outcome=skipped' }, 'See them in Activity')));
      announce(`${plural(done.length, 'answer')} ${label}`);
      for (const id of done) selected.delete(id);
    } catch (err) {
      fill(status, errorBox(`Could not finish: ${plural(done.length, 'answer')} ${label} before the error`, err.message, err instanceof ApiError ? err.fix : undefined));
    } finally {
      rejectYes.disabled = false;
      lastJson = '';
      await load();
      refreshReviewCount();
    }
    return done;
  };

  all.addEventListener('change', () => {
    if (all.checked) for (const i of items) selected.add(i.jobId);
    else selected.clear();
    sync();
  });
  approve.addEventListener('click', () => decide('approved', async (jobIds) => (await api('POST', '/api/review/approve', { jobIds })).approved));
  rejectOpen.addEventListener('click', () => showReject(rejectPanel.hidden));
  rejectNo.addEventListener('click', () => showReject(false));
  rejectYes.addEventListener('click', async () => {
    const why = reason.value.trim();
    if (!why) {
      reasonError.textContent = 'Say why: the reason is kept in the sync log with each rejected record.';
      reason.focus();
      return;
    }
    await decide('rejected', async (jobIds) => (await api('POST', '/api/review/reject', { jobIds, reason: why })).rejected);
    reason.value = '';
    showReject(false);
  });

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Review'), h('p', { class: 'muted small' }, 'Answers waiting for a person before write-back. Approved answers are written without a new OpenAI call; a field someone changed meanwhile is kept. Needs the admin token.')),
    errorArea,
    h('section', { class: 'card', 'aria-labelledby': 'review-actions-title' }, h('h2', { id: 'review-actions-title', class: 'visually-hidden' }, 'Decide'), summary, toolbar, rejectPanel, status),
    list);
  await load();
  life.every(5000, load);
}
