// Prompt lab: what `ipaas-openai try` does, on the page. Pick customers (CustomerNumbers or a random
// sample), optionally paste a candidate PromptText, see the estimate and confirm; the service then makes
// real OpenAI calls and writes nothing to iPaaS.com. Per customer both answers side by side with what
// each would write (before -> after), tokens and cost; the summary says how many answers differ.
import { api, ApiError } from '../api.js';
import { setParams, viewError } from '../app.js';
import { add, announce, clear, errorBox, fill, h, pageTitle } from '../dom.js';
import { dateTime, num, plural, usd } from '../format.js';
import { parseNumbers } from './sync.js';

const MAX = 50;
const RUNNING = new Set(['preparing', 'running']);
const STATUS_WORDS = { preparing: 'Preparing', running: 'Running', finished: 'Finished', stopped: 'Stopped (the service stopped)', failed: 'Failed' };

const show = (v) => (v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '(empty)') : typeof v === 'string' ? v : JSON.stringify(v));
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** A column's name where a phone shows the cells under each other (CSS draws it before the value). */
const label = (r) => `${r.variant === 'active' ? 'Active' : 'Candidate'} ${r.promptVersion}`;

/** One customer's results side by side: each field as iPaaS.com holds it now, then what each prompt would write. */
export function customerView(c) {
  const who = c.customerNumber ?? c.ref;
  const answered = c.results.filter((r) => r.outcome === 'answered');
  const problems = c.results.filter((r) => r.outcome !== 'answered').map((r) =>
    h('div', { class: `callout ${r.outcome === 'failed' ? 'callout-bad' : ''}`, dataset: { variant: r.variant } },
      h('p', { class: 'callout-title' }, `${r.variant} prompt (${r.promptVersion}): ${r.outcome}`), r.error ? h('p', null, r.error.message) : null));
  const fields = [...new Set(answered.flatMap((r) => r.writes.map((w) => w.field)))];
  const fromAnswer = new Set(answered.flatMap((r) => r.answerTargets));
  const table = answered.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'table lab-table' },
      h('caption', { class: 'visually-hidden' }, `${who}: each field now, and what each prompt would write`),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Now in iPaaS.com'),
        answered.map((r) => h('th', { scope: 'col', dataset: { variant: r.variant } }, `${r.variant === 'active' ? 'Active' : 'Candidate'} `, h('code', null, r.promptVersion))))),
      h('tbody', null,
        fields.map((f) => {
          const cells = answered.map((r) => r.writes.find((w) => w.field === f));
          const now = cells.find(Boolean)?.before ?? null;
          const after = cells.map((w) => (w ? (w.skipped ? w.before : w.after) : null));
          // Response metadata (date, id, prompt text) differs between any two calls: only answer fields are compared.
          const differs = fromAnswer.has(f) && after.length > 1 && after.some((a) => !same(a, after[0]));
          const changes = fromAnswer.has(f) && after.some((a) => !same(a, now));
          return h('tr', { dataset: { field: f, differs: String(differs), changes: String(changes) } },
            h('th', { scope: 'row' }, f, differs ? h('span', { class: 'badge badge-warn mark' }, 'differs') : changes ? h('span', { class: 'badge badge-info mark' }, 'would change') : null),
            h('td', { class: 'pre-wrap before', dataset: { label: 'Now' } }, show(now)),
            cells.map((w, i) => h('td', { class: 'pre-wrap', dataset: { variant: answered[i].variant, label: label(answered[i]) } }, !w ? '–' : w.skipped ? h('span', { class: 'muted' }, `unchanged: ${w.skipped}`) : show(w.after))));
        }),
        h('tr', { class: 'lab-cost' }, h('th', { scope: 'row' }, 'Tokens · cost'), h('td', { class: 'lab-no-value' }, ''),
          answered.map((r) => h('td', { dataset: { variant: r.variant, label: label(r) } }, `${num(r.inputTokens)} in / ${num(r.outputTokens)} out · ${usd(r.costUsd)}`))))))
    : null;
  return h('article', { class: 'card lab-customer', dataset: { ref: c.ref }, 'aria-labelledby': `lab-c-${c.ref}` },
    h('h3', { id: `lab-c-${c.ref}` }, who, c.customerId ? h('span', { class: 'muted small' }, ` · iPaaS id ${c.customerId}`) : null),
    problems, table,
    answered.length === 0 && !problems.length ? h('p', { class: 'muted' }, 'No result yet.') : null);
}

function summaryView(t) {
  const s = t.summary;
  const rows = [
    ['Customers', num(s.customers), 'customers'], ['OpenAI calls', num(s.calls), 'calls'], ['Failed', num(s.failed), 'failed'],
    ['Input tokens', num(s.inputTokens), 'inputTokens'], ['Output tokens', num(s.outputTokens), 'outputTokens'], ['Cost', usd(s.costUsd), 'costUsd'],
  ];
  return [
    h('dl', { class: 'figures' }, rows.map(([name, value, key]) => h('div', { class: 'figure' }, h('dt', null, name), h('dd', { class: value.length > 7 ? 'long' : undefined, dataset: { summary: key } }, value)))),
    s.compared
      ? [h('p', { id: 'lab-differ', class: 'lab-differ' }, `Answers differ for ${num(s.compared.differing)} of ${plural(s.compared.customers, 'customer')} answered by both prompts.`),
        h('div', { class: 'table-wrap' }, h('table', { class: 'table compact lab-by-field', id: 'lab-by-field' },
          h('caption', null, 'Per answer field: customers whose two answers differ'),
          h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Answer field'), h('th', { scope: 'col', class: 'num' }, 'Customers that differ'))),
          h('tbody', null, Object.entries(s.compared.byField).map(([f, n]) => h('tr', { dataset: { field: f } }, h('th', { scope: 'row' }, f), h('td', { class: 'num' }, num(n)))))))]
      : h('p', { class: 'muted' }, 'One prompt was tried: nothing to compare. Paste a candidate PromptText to see both answers side by side.'),
    h('p', { class: 'small' }, 'Nothing was written to iPaaS.com. When the candidate is better, paste it into the Static PromptText mapping of the FROM collection.'),
  ];
}

function promptsView(prompts) {
  return h('div', { class: 'lab-prompts' }, prompts.map((p) =>
    h('details', { dataset: { variant: p.variant } }, h('summary', null, `${p.variant === 'active' ? 'Active' : 'Candidate'} PromptText `, h('code', null, p.id)),
      h('pre', { class: 'code', tabindex: '0', 'aria-label': `${p.variant} PromptText` }, p.text ?? '(its text is not kept)'))));
}

export async function render(root, { params, life }) {
  const numbers = h('textarea', { id: 'lab-numbers', rows: 4, spellcheck: 'false', placeholder: 'CUST-10045\nCUST-10046', 'aria-describedby': 'lab-count' });
  const sample = h('input', { id: 'lab-sample', type: 'number', min: 1, max: MAX, step: 1, value: '5', inputmode: 'numeric' });
  const byNumbers = h('input', { type: 'radio', name: 'lab-pick', id: 'lab-pick-numbers', value: 'numbers', checked: true });
  const bySample = h('input', { type: 'radio', name: 'lab-pick', id: 'lab-pick-sample', value: 'sample' });
  const promptText = h('textarea', { id: 'lab-prompt', rows: 6, spellcheck: 'false', 'aria-describedby': 'lab-prompt-hint' });
  const count = h('p', { id: 'lab-count', class: 'small', 'aria-live': 'polite' });
  const estimateButton = h('button', { type: 'submit', class: 'primary', id: 'lab-estimate-button' }, 'Estimate');
  const activePrompt = h('div');
  const form = h('form', { class: 'card lab-form', 'aria-labelledby': 'lab-form-title' },
    h('h2', { id: 'lab-form-title' }, 'Try a prompt'),
    h('fieldset', null, h('legend', null, 'Customers'),
      h('div', { class: 'check-field' }, byNumbers, h('label', { for: 'lab-pick-numbers' }, 'These CustomerNumbers')),
      numbers, count,
      h('div', { class: 'check-field' }, bySample, h('label', { for: 'lab-pick-sample' }, 'A random sample of')),
      h('div', { class: 'sample-row' }, sample, h('label', { for: 'lab-sample', class: 'inline-label' }, `customers (1 to ${MAX})`))),
    h('label', { for: 'lab-prompt', class: 'second-label' }, 'Candidate PromptText (optional)'),
    h('p', { class: 'hint', id: 'lab-prompt-hint' }, 'Tried beside the active PromptText on the same customers. Leave it empty to try the active one alone.'),
    activePrompt, promptText,
    h('div', { class: 'actions' }, estimateButton));

  const estimateBox = h('section', { class: 'card', id: 'lab-estimate', 'aria-labelledby': 'lab-estimate-title', hidden: true });
  const resultBox = h('section', { class: 'card', id: 'lab-results', 'aria-labelledby': 'lab-results-title', hidden: true });
  const historyBody = h('tbody');
  const errorArea = h('div');
  let pending = null;
  let trialId = params.get('trial');
  let lastJson = '';

  const pick = () => (bySample.checked ? 'sample' : 'numbers');
  const update = () => {
    const { numbers: list, duplicates } = parseNumbers(numbers.value);
    const n = Number(sample.value);
    let problem = '';
    if (pick() === 'numbers') {
      count.textContent = list.length ? `${plural(list.length, 'CustomerNumber')}${duplicates ? ` (${plural(duplicates, 'duplicate')} left out)` : ''}${list.length > MAX ? ` — more than ${MAX}: try fewer at a time.` : ''}` : 'No customers yet.';
      if (!list.length || list.length > MAX) problem = 'numbers';
    } else {
      count.textContent = '';
      if (!Number.isInteger(n) || n < 1 || n > MAX) problem = 'sample';
    }
    count.classList.toggle('form-error', pick() === 'numbers' && list.length > MAX);
    numbers.disabled = pick() !== 'numbers';
    sample.disabled = pick() !== 'sample';
    estimateButton.disabled = problem !== '';
    // The estimate was for what the form said then: a change asks for a new one.
    if (pending) {
      pending = null;
      estimateBox.hidden = true;
    }
  };
  for (const el of [numbers, sample, byNumbers, bySample, promptText]) el.addEventListener('input', update);
  for (const el of [byNumbers, bySample]) el.addEventListener('change', update);

  const request = () => {
    const body = pick() === 'numbers' ? { customerNumbers: parseNumbers(numbers.value).numbers } : { sample: Number(sample.value) };
    if (promptText.value.trim()) body.promptText = promptText.value;
    return body;
  };

  const showEstimate = (r, body) => {
    const e = r.estimate;
    const possible = e.customers * e.variants;
    const run = h('button', { type: 'button', class: 'primary', id: 'lab-run' }, `Run the trial (${plural(e.calls, 'OpenAI call')}, about ${usd(e.costUsd)})`);
    const cancel = h('button', { type: 'button', id: 'lab-cancel' }, 'Cancel');
    const status = h('div', { role: 'status' });
    fill(estimateBox,
      h('h2', { id: 'lab-estimate-title', tabindex: '-1' }, 'Estimate'),
      h('p', { id: 'lab-estimate-text' }, `${plural(e.customers, 'customer')} × ${plural(e.variants, 'prompt')} = ${plural(e.calls, 'OpenAI call')}, ~${num(e.inputTokens)} in / ~${num(e.outputTokens)} out tokens, about ${usd(e.costUsd)}. Nothing is written to iPaaS.com.`),
      e.calls < possible ? h('p', { class: 'callout callout-warn small' }, `${plural(possible - e.calls, 'call')} cannot be made: a customer could not be loaded (not found, or without a CustomerNumber). It shows as failed in the results, without a call.`) : null,
      h('p', { class: 'small' }, 'Customers: ', h('span', { id: 'lab-estimate-customers' }, r.customerNumbers.join(', '))),
      promptsView(r.prompts),
      h('div', { class: 'actions' }, run, cancel), status);
    estimateBox.hidden = false;
    pending = { ...body, customerNumbers: r.customerNumbers };
    delete pending.sample;
    cancel.addEventListener('click', () => {
      pending = null;
      estimateBox.hidden = true;
      estimateButton.focus();
    });
    run.addEventListener('click', async () => {
      run.disabled = cancel.disabled = true;
      fill(status, h('p', null, 'Starting…'));
      try {
        const started = await api('POST', '/api/trials', pending);
        pending = null;
        estimateBox.hidden = true;
        announce(`Trial started on ${plural(started.customers, 'customer')}`);
        await follow(started.trialId);
        resultBox.querySelector('h2')?.focus();
      } catch (err) {
        run.disabled = cancel.disabled = false;
        fill(status, errorBox('The trial was not started', err.message, err instanceof ApiError ? err.fix : undefined));
      }
    });
    announce(estimateBox.querySelector('#lab-estimate-text').textContent);
    run.focus();
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = request();
    estimateButton.disabled = true;
    estimateBox.hidden = false;
    fill(estimateBox, h('h2', { id: 'lab-estimate-title' }, 'Estimate'), h('p', null, 'Building the requests…'));
    try {
      showEstimate(await api('POST', '/api/trials/estimate', body), body);
    } catch (err) {
      fill(estimateBox, h('h2', { id: 'lab-estimate-title' }, 'Estimate'), errorBox('No estimate', err.message, err instanceof ApiError ? err.fix : undefined));
    } finally {
      estimateButton.disabled = false;
    }
  });

  const renderTrial = (t) => {
    const running = RUNNING.has(t.status);
    const p = t.progress;
    resultBox.hidden = false;
    fill(resultBox,
      h('div', { class: 'card-head' }, h('h2', { id: 'lab-results-title', tabindex: '-1' }, 'Results ', h('span', { class: 'muted small' }, t.trialId)),
        h('span', { class: `badge badge-${t.status === 'failed' ? 'bad' : running ? 'info' : 'ok'}`, id: 'lab-status', dataset: { status: t.status ?? 'ended' } }, STATUS_WORDS[t.status] ?? 'Ended')),
      p ? h('div', { class: 'progress-row' }, h('label', { for: 'lab-progress' }, `${num(p.done)} of ${plural(p.customers, 'customer')} done`), h('progress', { id: 'lab-progress', max: p.customers || 1, value: p.done })) : null,
      p?.error ? errorBox('The trial stopped', p.error.message, p.error.fix) : null,
      t.startedAt ? h('p', { class: 'small muted' }, `Started ${dateTime(t.startedAt)}${t.truncated ? ' · only its newest calls are shown' : ''}`) : null,
      promptsView(t.prompts),
      h('section', { class: 'lab-summary', 'aria-labelledby': 'lab-summary-title', id: 'lab-summary' }, h('h3', { id: 'lab-summary-title' }, running ? 'So far' : 'Summary'), summaryView(t)),
      h('div', { class: 'lab-customers' }, t.customers.map((c) => customerView(c))));
  };

  const follow = async (id) => {
    trialId = id;
    lastJson = '';
    setParams(new URLSearchParams({ trial: id }));
    await poll();
  };
  let wasRunning = false;
  const poll = async () => {
    if (!trialId) return;
    let t;
    try {
      t = await api('GET', `/api/trials/${encodeURIComponent(trialId)}`);
      clear(errorArea);
    } catch (err) {
      fill(errorArea, viewError(err));
      trialId = null;
      return;
    }
    if (!life.alive) return;
    const json = JSON.stringify(t);
    if (json !== lastJson) {
      lastJson = json;
      renderTrial(t);
    }
    const running = RUNNING.has(t.status);
    if (wasRunning && !running) {
      announce(`Trial ${STATUS_WORDS[t.status]?.toLowerCase() ?? 'ended'}${t.summary.compared ? `: answers differ for ${t.summary.compared.differing} of ${t.summary.compared.customers} customers` : ''}`);
      loadHistory();
    }
    wasRunning = running;
    if (!running) trialId = null;
  };

  const loadHistory = async () => {
    try {
      const r = await api('GET', '/api/trials?limit=20');
      if (!life.alive) return;
      fill(historyBody, ...(r.trials.length
        ? r.trials.map((x) => h('tr', { dataset: { trialId: x.trialId } },
          h('td', { class: 'nowrap when' }, dateTime(x.startedAt)),
          h('td', null, h('a', { href: `#/lab?trial=${encodeURIComponent(x.trialId)}`, 'aria-label': `Trial ${x.trialId}: its results` }, x.trialId)),
          h('td', { class: 'num' }, num(x.customers)), h('td', { class: 'num' }, num(x.calls)), h('td', { class: 'num' }, usd(x.costUsd)),
          h('td', null, STATUS_WORDS[x.status] ?? h('span', { class: 'muted' }, 'ended (or run elsewhere)'))))
        : [h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No trials yet.'))]));
    } catch {
      /* the list is a convenience; the page's own errors say what is wrong */
    }
  };

  add(root,
    h('div', { class: 'page-head' }, pageTitle('Prompt lab'), h('p', { class: 'muted small' }, 'As ', h('code', null, 'ipaas-openai try'), ': real OpenAI calls (they cost, and count toward the spend caps), nothing written to iPaaS.com, kept apart from the sync log. Needs the admin token.')),
    errorArea,
    h('div', { class: 'lab-layout' }, form, estimateBox),
    resultBox,
    h('section', { class: 'card', 'aria-labelledby': 'lab-history-title' }, h('h2', { id: 'lab-history-title' }, 'Trials'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'lab-history' }, h('caption', { class: 'visually-hidden' }, 'Trials, newest first'),
        h('thead', null, h('tr', null, ['Started', 'Trial', 'Customers', 'Calls', 'Cost', 'Status'].map((c, i) => h('th', { scope: 'col', class: i >= 2 && i <= 4 ? 'num' : undefined }, c)))),
        historyBody))));
  update();
  // The active PromptText, to copy from: the config shows it (a Static mapping of the FROM collection).
  api('GET', '/api/config').then((c) => {
    const from = c.collections.find((x) => x.direction === 'FROM iPaaS' && x.status === 'Enabled');
    const m = from?.mappings.find((x) => x.destination === 'PromptText' && x.type === 'Static');
    if (m && life.alive) fill(activePrompt, h('details', { id: 'lab-active-prompt' }, h('summary', null, 'The active PromptText (to copy from)'), h('pre', { class: 'code', tabindex: '0', 'aria-label': 'The active PromptText' }, m.source)));
  }, () => {});
  await Promise.all([trialId ? follow(trialId) : null, loadHistory()]);
  life.every(1000, poll);
}
