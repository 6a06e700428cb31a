// Configuration: the mapping collections as the seed shows them, settings, and secrets as present/absent.
import { api } from '../api.js';
import { add, h, pageTitle } from '../dom.js';
import { num, usd } from '../format.js';

function mappingTable(c) {
  const to = c.direction === 'TO iPaaS';
  const cols = to ? ['Mapping Type', 'Source (OpenAI answer / response)', 'Destination (iPaaS)', 'iPaaS type', 'Description'] : ['Mapping Type', 'Source (iPaaS)', 'Destination (OpenAI)', 'Description'];
  return h('table', { class: 'table mappings' },
    h('caption', { class: 'visually-hidden' }, `Mappings of ${c.name}`),
    h('thead', null, h('tr', null, cols.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, c.mappings.map((m) => h('tr', null,
      h('td', null, m.type),
      h('td', { class: m.type === 'Field' ? undefined : 'pre-wrap source' }, m.type === 'Static' ? h('em', null, m.source) : m.type === 'Formula' ? h('code', null, m.source) : m.source),
      h('th', { scope: 'row' }, m.destination),
      to ? h('td', null, m.destinationType) : null,
      h('td', { class: 'muted' }, m.description ?? '')))));
}

function collection(c, i) {
  const id = `coll-${i}`;
  return h('section', { class: 'card', 'aria-labelledby': id },
    h('h2', { id }, c.name),
    h('dl', { class: 'facts' },
      h('div', null, h('dt', null, 'Status'), h('dd', null, h('span', { class: `badge badge-${c.status === 'Enabled' ? 'ok' : 'muted'}` }, c.status))),
      h('div', null, h('dt', null, 'Direction'), h('dd', null, c.direction)),
      h('div', null, h('dt', null, 'Data model'), h('dd', null, c.dataModel)),
      h('div', null, h('dt', null, 'Trigger events'), h('dd', null, c.triggerEvents.join(', ') || 'none')),
      h('div', null, h('dt', null, 'Filter'), h('dd', null, c.filter ? h('code', null, c.filter) : 'all customers'))),
    h('div', { class: 'table-wrap' }, mappingTable(c)));
}

/** Readable names for settings whose key does not read well when split into words. */
const LABELS = {
  'openai.api': 'API',
  'openai.rpm': 'Requests per minute',
  'openai.tpm': 'Tokens per minute',
  'openai.throttlePerSecond': 'Throttle (calls per second)',
  'ipaas.throttlePerSecond': 'Throttle (calls per second)',
  'jobs.retryBaseMs': 'First retry delay (ms)',
  'jobs.retryMaxMs': 'Longest retry delay (ms)',
  'sync.autoCreateCustomFields': 'Create missing custom fields',
  'log.level': 'Log level',
  'ipaas.auth': 'Authentication',
  'server.webhooks': 'Webhooks',
  'server.openaiWebhooks': 'OpenAI webhooks',
  'sync.maxIdsPerRun': 'Max records per manual sync',
  'store.path': 'Database file',
  'store.url': 'Database URL',
  'log.path': 'Log file',
  'budget.daily': 'Per UTC day',
  'budget.monthly': 'Per UTC month',
};
/** Rows the service works out (they are not keys of ipaas-openai.yaml). */
const DERIVED = new Set(['ipaas.auth', 'server.loopbackOnly', 'server.webhooks', 'server.openaiWebhooks']);

/** maxOutputTokens → "Max output tokens", timeoutMs → "Timeout (ms)", baseUrl → "Base URL". */
export function settingLabel(path) {
  if (LABELS[path]) return LABELS[path];
  const key = path.slice(path.lastIndexOf('.') + 1);
  const unit = /Ms$/.test(key) ? ' (ms)' : '';
  const words = key.replace(/Ms$/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(' ')
    .map((w) => ({ url: 'URL', id: 'id', ids: 'ids', ipaas: 'iPaaS.com', openai: 'OpenAI' })[w] ?? w);
  const text = words.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${unit}`;
}

function settingValue(path, v) {
  if (path.startsWith('budget.')) {
    const parts = [v?.tokens === undefined || v?.tokens === null ? null : `${num(v.tokens)} tokens`, v?.usd === undefined || v?.usd === null ? null : usd(v.usd)].filter(Boolean);
    return parts.length ? parts.join(' or ') : h('span', { class: 'muted' }, 'no cap');
  }
  if (v === null || v === undefined || v === '') return h('span', { class: 'muted' }, 'not set');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return path === 'server.port' ? String(v) : num(v);
  if (typeof v === 'object') return h('code', null, JSON.stringify(v));
  return String(v);
}

/**
 * One group of settings: each row has a readable label and, under it, the key it comes from in
 * ipaas-openai.yaml (e.g. openai.maxOutputTokens), so the page and the file name it alike.
 */
function settings(title, groups) {
  return h('div', null, h('h3', null, title), h('dl', { class: 'facts' },
    groups.flatMap(([prefix, obj]) => Object.entries(obj ?? {}).map(([k, v]) => {
      const path = `${prefix}.${k}`;
      return h('div', { dataset: { setting: path } },
        h('dt', null, h('span', { class: 'setting-label' }, settingLabel(path)),
          DERIVED.has(path) ? h('span', { class: 'setting-key muted' }, 'worked out at start') : h('code', { class: 'setting-key' }, path)),
        h('dd', null, settingValue(path, v)));
    }))));
}

export async function render(root) {
  const c = await api('GET', '/api/config');
  add(root,
    h('div', { class: 'page-head' }, pageTitle('Configuration'), h('p', { class: 'muted small' }, 'Read-only. Change it in ipaas-openai.yaml or the environment, then restart the service.')),
    ...c.collections.map(collection),
    h('section', { class: 'card', 'aria-labelledby': 'secrets-title' },
      h('h2', { id: 'secrets-title' }, 'Secrets'),
      h('p', { class: 'muted small' }, 'Only whether each one is set: their values never leave the service.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'secrets' },
        h('caption', { class: 'visually-hidden' }, 'Secrets'),
        h('thead', null, h('tr', null, ['Secret', 'Environment variable', 'Config key', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, c.secrets.map((s) => h('tr', { dataset: { secret: s.key } },
          h('th', { scope: 'row' }, s.name), h('td', null, h('code', null, s.env)), h('td', null, h('code', null, s.key)),
          h('td', null, h('span', { class: `badge badge-${s.present ? 'ok' : 'muted'}` }, s.present ? 'present' : 'absent'), s.note ? h('span', { class: 'muted small' }, ` ${s.note}`) : null))))))),
    h('section', { class: 'card', 'aria-labelledby': 'fields-title' },
      h('h2', { id: 'fields-title' }, 'Custom fields the mappings rely on'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table compact' }, h('caption', { class: 'visually-hidden' }, 'Custom fields'),
        h('thead', null, h('tr', null, ['Name', 'Type', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, c.customFields.map((f) => h('tr', null, h('th', { scope: 'row' }, f.name), h('td', null, f.dataType), h('td', { class: 'muted' }, f.description ?? ''))))))),
    h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Connections and settings'),
      h('div', { class: 'settings-grid', id: 'settings' },
        settings('OpenAI', [['openai', c.openai]]), settings('iPaaS.com', [['ipaas', c.ipaas]]), settings('Service', [['server', c.server]]),
        settings('Queue', [['jobs', c.jobs]]), settings('Sync', [['sync', c.sync]]),
        c.budget ? settings('Spend caps', [['budget', { daily: c.budget.daily, monthly: c.budget.monthly }]]) : null,
        settings('Storage and log', [['store', c.store], ['log', c.log]]))),
  );
}
