// Configuration: the mapping collections as the seed shows them, settings, and secrets as present/absent.
import { api } from '../api.js';
import { h, pageTitle } from '../dom.js';

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

function settings(title, obj) {
  return h('div', null, h('h3', null, title), h('dl', { class: 'facts' },
    Object.entries(obj).map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v))))));
}

export async function render(root) {
  const c = await api('GET', '/api/config');
  root.append(
    h('div', { class: 'page-head' }, pageTitle('Configuration'), h('p', { class: 'muted small' }, 'Read-only. Change it in ipaas-openai.yaml or the environment, then restart the service.')),
    ...c.collections.map(collection),
    h('section', { class: 'card', 'aria-labelledby': 'secrets-title' },
      h('h2', { id: 'secrets-title' }, 'Secrets'),
      h('p', { class: 'muted small' }, 'Only whether each one is set: their values never leave the service.'),
      h('table', { class: 'table', id: 'secrets' },
        h('caption', { class: 'visually-hidden' }, 'Secrets'),
        h('thead', null, h('tr', null, ['Secret', 'Environment variable', 'Config key', 'State'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, c.secrets.map((s) => h('tr', { dataset: { secret: s.key } },
          h('th', { scope: 'row' }, s.name), h('td', null, h('code', null, s.env)), h('td', null, h('code', null, s.key)),
          h('td', null, h('span', { class: `badge badge-${s.present ? 'ok' : 'muted'}` }, s.present ? 'present' : 'absent'), s.note ? h('span', { class: 'muted small' }, ` ${s.note}`) : null)))))),
    h('section', { class: 'card', 'aria-labelledby': 'fields-title' },
      h('h2', { id: 'fields-title' }, 'Custom fields the mappings rely on'),
      h('table', { class: 'table compact' }, h('caption', { class: 'visually-hidden' }, 'Custom fields'),
        h('thead', null, h('tr', null, ['Name', 'Type', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, c.customFields.map((f) => h('tr', null, h('th', { scope: 'row' }, f.name), h('td', null, f.dataType), h('td', { class: 'muted' }, f.description ?? '')))))),
    h('section', { class: 'card settings', 'aria-labelledby': 'settings-title' },
      h('h2', { id: 'settings-title' }, 'Connections and settings'),
      h('div', { class: 'settings-grid' }, settings('OpenAI', c.openai), settings('iPaaS.com', c.ipaas), settings('Service', c.server), settings('Queue', c.jobs), settings('Sync', c.sync), c.budget ? settings('Spend caps (per UTC day / month)', { daily: c.budget.daily ?? 'none', monthly: c.budget.monthly ?? 'none' }) : null, settings('Storage and log', { ...c.store, ...c.log }))),
  );
}
