// Record detail: one sync attempt whole — the request sent, the response, the fields written
// (before -> after), skip reasons, the error with its fix — and a Retry button.
import { api } from '../api.js';
import { viewError } from '../app.js';
import { add, announce, badge, errorBox, h, pageTitle } from '../dom.js';
import { dateTime, hms, ms, num, outcomeOf, tryText, usd, who } from '../format.js';
import { retryPanel } from './retry.js';

/** Instructions and customer data out of either API's request body. */
export function splitRequest(req) {
  if (!req || typeof req !== 'object') return null;
  let instructions = req.instructions ?? null;
  let user = null;
  if (Array.isArray(req.input)) user = req.input.find((m) => m.role === 'user')?.content ?? null;
  if (Array.isArray(req.messages)) {
    instructions ??= req.messages.find((m) => m.role === 'system' || m.role === 'developer')?.content ?? null;
    user = req.messages.find((m) => m.role === 'user')?.content ?? null;
  }
  if (Array.isArray(user)) user = user.map((p) => p.text ?? '').join('');
  let data = user;
  try {
    data = typeof user === 'string' ? JSON.parse(user) : user;
  } catch {
    /* not JSON: shown as text */
  }
  return { instructions, data };
}

const show = (v) => (v === null || v === undefined ? h('span', { class: 'muted' }, '(empty)') : typeof v === 'string' ? v : JSON.stringify(v));
const pre = (text, label) => h('pre', { class: 'code', tabindex: '0', 'aria-label': label }, text);

function kvTable(caption, obj) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table kv' }, h('caption', null, caption),
    h('tbody', null, Object.entries(obj).map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', { class: 'pre-wrap' }, show(v)))))));
}

function writesTable(writes) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table writes' }, h('caption', { class: 'visually-hidden' }, 'Fields written, before and after'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col', class: 'arrow', 'aria-hidden': 'true' }, ''), h('th', { scope: 'col' }, 'After'))),
    h('tbody', null, writes.map((w) => h('tr', { dataset: { field: w.field } },
      h('th', { scope: 'row' }, w.field),
      h('td', { class: 'pre-wrap before' }, show(w.before)),
      h('td', { class: 'arrow', 'aria-hidden': 'true' }, '→'),
      h('td', { class: 'pre-wrap after' }, w.skipped ? h('span', { class: 'muted' }, `unchanged: ${w.skipped}`) : show(w.after)))))));
}

function section(title, id, ...body) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export async function render(root, { match, life }) {
  const id = Number(match[1]);
  const a = await api('GET', `/api/attempts/${id}`);
  const req = splitRequest(a.request);
  const facts = h('dl', { class: 'facts' });
  add(root,
    h('p', { class: 'crumbs' }, h('a', { href: '#/activity' }, '← Activity')),
    h('div', { class: 'page-head' }, pageTitle(`${who(a)} `, h('span', { class: 'muted' }, `attempt #${a.id}`)), badge(outcomeOf(a)), a.tryNumber ? h('span', { class: 'try', id: 'attempt-try' }, tryText(a)) : null),
  );
  for (const [k, v] of [['Trigger', a.trigger], ['Finished', dateTime(a.finishedAt)], ['Duration', ms(a.totalMs)],
    ['Try', a.tryNumber ? `${num(a.tryNumber)}${a.maxTries ? ` of ${num(a.maxTries)}` : ''}` : '– (not queued)'],
    ['iPaaS id', a.customerId ?? '–'], ['Job', a.jobId ? `#${a.jobId}` : '– (direct run)'], ['Model', a.model ? `${a.model}${a.api ? ` (${a.api} API)` : ''}` : '–'],
    ['Tokens', a.inputTokens || a.outputTokens ? `${num(a.inputTokens)} in (${num(a.cachedTokens)} cached) / ${num(a.outputTokens)} out` : '–'],
    ['Cost', usd(a.costUsd)],
    ['Instance', a.instance ?? '–'],
    ['Prompt version', a.promptVersion ? h('code', { id: 'attempt-prompt-version' }, a.promptVersion) : '– (no request built)'],
    ['Timings', `load ${ms(a.loadMs)} · OpenAI ${ms(a.openaiMs)} · write ${ms(a.writeMs)}`]]) add(facts, h('div', null, h('dt', null, k), h('dd', null, v)));
  add(root, h('div', { class: 'card' }, facts));

  if (outcomeOf(a) === 'retrying') {
    // Not a final failure: the queue makes another try by itself.
    add(root, h('div', { class: 'callout callout-warn', role: 'note' }, h('p', { class: 'callout-title' }, `Failed, will retry${a.errorCode ? ` (${a.errorCode})` : ''}: next try at ${hms(a.nextTryAt)}`),
      h('p', null, a.errorMessage), a.errorFix ? h('p', { class: 'fix' }, h('strong', null, 'If it keeps failing: '), a.errorFix) : null));
  } else if (a.outcome === 'failed') add(root, errorBox(`Failed${a.errorCode ? ` (${a.errorCode})` : ''}`, a.errorMessage, a.errorFix));
  if (a.outcome === 'skipped') add(root, h('div', { class: 'callout' }, h('p', { class: 'callout-title' }, 'Skipped'), h('p', null, a.errorMessage ?? 'No reason was recorded.')));
  if (a.flags?.length) add(root, h('div', { class: 'callout callout-warn' }, h('p', { class: 'callout-title' }, 'For review'), h('ul', null, a.flags.map((f) => h('li', null, f)))));

  if (outcomeOf(a) !== 'retrying') add(root, retryPanel(a, life));

  add(root, section('Fields written (before → after)', 'sec-writes',
    Array.isArray(a.writes) && a.writes.length ? writesTable(a.writes) : h('p', { class: 'muted' }, a.outcome === 'synced' ? 'Nothing was written.' : 'Nothing was written to iPaaS.com in this attempt.')));

  if (req) {
    add(root, section('Request sent to OpenAI', 'sec-request',
      h('h3', null, 'Instructions'), pre(req.instructions ?? '(none)', 'Instructions sent to OpenAI'),
      h('h3', null, 'Customer data (the user message)'),
      req.data && typeof req.data === 'object' ? kvTable('Fields sent', req.data) : pre(String(req.data ?? '(none)'), 'Customer data sent'),
      h('details', null, h('summary', null, 'The exact request body (JSON)'), pre(JSON.stringify(a.request, null, 2), 'Request body'))));
  } else {
    add(root, section('Request sent to OpenAI', 'sec-request', h('p', { class: 'muted' }, 'No request was sent to OpenAI in this attempt.')));
  }

  if (a.promptVersion) {
    // The PromptText as this version had it (kept once per version): a later prompt change does not rewrite the past.
    const text = h('pre', { class: 'code', tabindex: '0', 'aria-label': `PromptText ${a.promptVersion}` }, '…');
    add(root, section(`PromptText (version ${a.promptVersion})`, 'sec-prompt', h('p', { class: 'small muted' }, 'The PromptText this attempt\'s request was built from; attempts and Prompt lab trials with the same text share the version.'), text));
    api('GET', `/api/prompts/${encodeURIComponent(a.promptVersion)}`).then((v) => (text.textContent = v.text), (err) => text.replaceWith(errorBox('Could not load the PromptText', err.message, err.fix)));
  }

  add(root, section('Response', 'sec-response',
    a.answer && typeof a.answer === 'object' ? kvTable('The parsed answer', a.answer) : h('p', { class: 'muted' }, 'No answer.'),
    a.responseId ? h('p', { class: 'small muted' }, `Response id ${a.responseId}${a.requestId ? ` · request id ${a.requestId}` : ''}`) : null,
    a.response ? h('details', null, h('summary', null, 'The full response (JSON)'), pre(JSON.stringify(a.response, null, 2), 'Response body')) : null));

  const history = h('ul', { class: 'history' });
  add(root, section('Other attempts for this record', 'sec-history', history));
  try {
    // Exactly this record (a text search for "6" would also list customer 60).
    const [key, value] = a.customerNumber ? ['customerNumber', a.customerNumber] : a.customerId ? ['customerId', a.customerId] : ['requestedRef', a.requestedRef];
    const page = await api('GET', `/api/activity?limit=25&${key}=${encodeURIComponent(value)}`);
    const others = page.items.filter((x) => x.id !== a.id);
    add(history, ...(others.length
      ? others.map((x) => h('li', { dataset: { attemptId: x.id } }, h('a', { href: `#/attempt/${x.id}` }, `#${x.id}`), ' ', dateTime(x.finishedAt), ' ', badge(x.outcome),
        tryText(x) ? h('span', { class: 'try small' }, ` ${tryText(x)}`) : null, x.instance ? h('span', { class: 'muted small' }, ` on ${x.instance}`) : null, x.reason ? h('span', { class: 'muted' }, ` ${x.reason}`) : null))
      : [h('li', { class: 'muted' }, 'None.')]));
    if (page.total > page.items.length) add(history, h('li', { class: 'muted' }, `… and ${num(page.total - page.items.length)} older (the newest ${page.items.length} are listed).`));
  } catch (err) {
    history.replaceWith(viewError(err));
  }
  announce(`Attempt ${a.id} for ${who(a)}: ${outcomeOf(a)}`);
}
