import type { ConnectorConfig } from '../config/schema.js';
import { ENV } from '../config/load-config.js';
import { redactDeep, type Redactor } from '../shared/redact.js';

/** A base URL without any user:password part (someone may have put credentials in it). */
function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    return u.href.replace(/\/$/, '');
  } catch {
    return '(not a URL)';
  }
}

/** The iPaaS.com type of a TO destination: Comment is text, custom fields have their declared type. */
function destinationType(config: ConnectorConfig, destination: string): string {
  if (destination.toLowerCase() === 'comment') return 'text';
  return config.customFields.find((f) => f.name.toLowerCase() === destination.toLowerCase())?.dataType ?? 'custom field (type set in iPaaS.com)';
}

/**
 * The configuration as the page shows it. Secrets are reported only as present or absent:
 * their values are never put in the object, and every other string passes the redactor too.
 */
export function configView(config: ConnectorConfig, redact: Redactor, opts: { loopbackOnly: boolean; adminTokenGenerated: boolean }) {
  const secret = (name: string, key: string, env: string, value: string | undefined, note?: string) => ({ name, key, env, present: !!value || !!note, ...(note ? { note } : {}) });
  const view = {
    collections: config.mappingCollections.map((c) => ({
      name: c.name,
      dataModel: c.dataModel,
      direction: c.direction,
      status: c.status,
      triggerEvents: c.triggerEvents,
      filter: c.filter.expression ?? null,
      mappings: c.mappings.map((m) => ({
        type: m.type,
        source: m.source,
        destination: m.destination,
        description: m.description ?? null,
        ...(c.direction === 'TO iPaaS' ? { destinationType: destinationType(config, m.destination) } : {}),
      })),
    })),
    customFields: config.customFields,
    openai: {
      baseUrl: safeUrl(config.openai.baseUrl), model: config.openai.model, api: config.openai.api, maxOutputTokens: config.openai.maxOutputTokens,
      timeoutMs: config.openai.timeoutMs, maxRetries: config.openai.maxRetries, rpm: config.openai.rpm ?? null, tpm: config.openai.tpm ?? null,
    },
    ipaas: {
      baseUrl: safeUrl(config.ipaas.baseUrl), auth: config.ipaas.apiKey ? 'API key' : config.ipaas.login ? 'login (/sso)' : 'none configured',
      timeoutMs: config.ipaas.timeoutMs, maxRetries: config.ipaas.maxRetries, throttlePerSecond: config.ipaas.throttlePerSecond ?? null,
    },
    server: { host: config.server.host, port: config.server.port, loopbackOnly: opts.loopbackOnly, webhooks: config.server.webhookApiKey ? 'accepted at POST /webhooks/ipaas' : 'disabled (no Webhook API Key)', openaiWebhooks: config.openai.webhookSecret ? 'accepted at POST /webhooks/openai' : `disabled (no ${ENV.openaiWebhookSecret})` },
    jobs: config.jobs,
    budget: { daily: config.budget.daily ?? null, monthly: config.budget.monthly ?? null },
    sync: config.sync,
    store: { path: config.store.path },
    log: { path: !config.log.path || config.log.path === '-' ? '(stderr)' : config.log.path, level: config.log.level },
    secrets: [
      secret('iPaaS.com API key', 'ipaas.apiKey', ENV.ipaasApiKey, config.ipaas.apiKey),
      secret('iPaaS.com login password', 'ipaas.login.password', ENV.ipaasPassword, config.ipaas.login?.password),
      secret('OpenAI API key', 'openai.apiKey', ENV.openaiApiKey, config.openai.apiKey),
      secret('OpenAI webhook signing secret', 'openai.webhookSecret', ENV.openaiWebhookSecret, config.openai.webhookSecret),
      secret('Webhook API Key', 'server.webhookApiKey', ENV.webhookKey, config.server.webhookApiKey),
      secret('Webhook HMAC secret', 'server.webhookHmacSecret', ENV.webhookHmacSecret, config.server.webhookHmacSecret),
      secret('Admin token', 'server.adminToken', ENV.adminToken, config.server.adminToken, opts.adminTokenGenerated ? 'generated at start (printed once by serve / the demo)' : undefined),
    ],
  };
  return redactDeep(view, redact);
}
