import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConnectorError } from '../shared/errors.js';
import { DEFAULT_CONFIG } from './defaults.js';
import { configSchema, type ConnectorConfig } from './schema.js';

/** Environment variables the connector reads; nothing else in src/ touches process.env. */
export const ENV = {
  configPath: 'IPAAS_OPENAI_CONFIG',
  dbPath: 'IPAAS_OPENAI_DB',
  instance: 'IPAAS_OPENAI_INSTANCE',
  ipaasBaseUrl: 'IPAAS_BASE_URL',
  ipaasApiKey: 'IPAAS_API_KEY',
  ipaasEmail: 'IPAAS_EMAIL',
  ipaasPassword: 'IPAAS_PASSWORD',
  openaiBaseUrl: 'OPENAI_BASE_URL',
  openaiApiKey: 'OPENAI_API_KEY',
  openaiModel: 'OPENAI_MODEL',
  openaiApi: 'OPENAI_API_STYLE',
  /** The OpenAI SDK's own name for it; the connector reads it here and hands it to the SDK. */
  openaiWebhookSecret: 'OPENAI_WEBHOOK_SECRET',
  webhookKey: 'IPAAS_WEBHOOK_KEY',
  webhookHmacSecret: 'IPAAS_WEBHOOK_HMAC_SECRET',
  adminToken: 'IPAAS_OPENAI_ADMIN_TOKEN',
  hashKey: 'IPAAS_OPENAI_HASH_KEY',
  port: 'PORT',
} as const;

export const DEFAULT_CONFIG_FILE = 'ipaas-openai.yaml';

export interface LoadedConfig {
  config: ConnectorConfig;
  /** Where the file came from, or undefined when only defaults and env were used. */
  source: string | undefined;
  warnings: string[];
  /** Every secret value, for redaction. */
  secrets: string[];
}

type Env = Record<string, string | undefined>;
type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; arrays and scalars from `over` replace. */
function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConnectorError('CONFIG_INVALID', `Cannot read config file ${file}: ${(err as Error).message}`, {
      fix: `Create it (see ipaas-openai.example.yaml) or pass another path with --config.`,
    });
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConnectorError('CONFIG_INVALID', `Config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`, {
      fix: 'Fix the syntax at the position named above.',
    });
  }
  if (parsed == null) return {};
  if (!isPlainObject(parsed)) {
    throw new ConnectorError('CONFIG_INVALID', `Config file ${file} must hold an object at the top level.`, { fix: 'Start the file with keys such as `openai:` and `ipaas:`.' });
  }
  return parsed;
}

/** Config keys an environment variable sets, so a bad value is reported by the variable's name. Secrets are never echoed. */
const FROM_ENV: ReadonlyArray<{ key: string; name: string; secret?: boolean }> = [
  { key: 'ipaas.baseUrl', name: ENV.ipaasBaseUrl },
  { key: 'ipaas.apiKey', name: ENV.ipaasApiKey, secret: true },
  { key: 'ipaas.login.email', name: ENV.ipaasEmail },
  { key: 'ipaas.login.password', name: ENV.ipaasPassword, secret: true },
  { key: 'openai.baseUrl', name: ENV.openaiBaseUrl },
  { key: 'openai.apiKey', name: ENV.openaiApiKey, secret: true },
  { key: 'openai.model', name: ENV.openaiModel },
  { key: 'openai.api', name: ENV.openaiApi },
  { key: 'openai.webhookSecret', name: ENV.openaiWebhookSecret, secret: true },
  { key: 'server.webhookApiKey', name: ENV.webhookKey, secret: true },
  { key: 'server.webhookHmacSecret', name: ENV.webhookHmacSecret, secret: true },
  { key: 'server.adminToken', name: ENV.adminToken, secret: true },
  { key: 'server.port', name: ENV.port },
  { key: 'instance', name: ENV.instance },
  { key: 'privacy.hashKey', name: ENV.hashKey, secret: true },
];

function envOverrides(env: Env): Json {
  const o: Json = {};
  const ipaas: Json = {};
  const openai: Json = {};
  if (env[ENV.ipaasBaseUrl]) ipaas.baseUrl = env[ENV.ipaasBaseUrl];
  if (env[ENV.ipaasApiKey]) ipaas.apiKey = env[ENV.ipaasApiKey];
  if (env[ENV.ipaasEmail]) ipaas.login = { email: env[ENV.ipaasEmail], password: env[ENV.ipaasPassword] };
  else if (env[ENV.ipaasPassword]) ipaas.login = { password: env[ENV.ipaasPassword] };
  if (env[ENV.openaiBaseUrl]) openai.baseUrl = env[ENV.openaiBaseUrl];
  if (env[ENV.openaiApiKey]) openai.apiKey = env[ENV.openaiApiKey];
  if (env[ENV.openaiModel]) openai.model = env[ENV.openaiModel];
  if (env[ENV.openaiApi]) openai.api = env[ENV.openaiApi];
  if (env[ENV.openaiWebhookSecret]) openai.webhookSecret = env[ENV.openaiWebhookSecret];
  const server: Json = {};
  if (env[ENV.webhookKey]) server.webhookApiKey = env[ENV.webhookKey];
  if (env[ENV.webhookHmacSecret]) server.webhookHmacSecret = env[ENV.webhookHmacSecret];
  if (env[ENV.adminToken]) server.adminToken = env[ENV.adminToken];
  // Not a number stays text, so the schema refuses it by the variable's name instead of it being ignored.
  if (env[ENV.port]) server.port = /^\d+$/.test(env[ENV.port]!.trim()) ? Number(env[ENV.port]) : env[ENV.port];
  if (Object.keys(server).length) o.server = server;
  if (env[ENV.instance]) o.instance = env[ENV.instance];
  if (env[ENV.hashKey]) o.privacy = { hashKey: env[ENV.hashKey] };
  if (Object.keys(ipaas).length) o.ipaas = ipaas;
  if (Object.keys(openai).length) o.openai = openai;
  return o;
}

/** `scheme://…`: a URL, not a path (a Windows drive letter has no slashes after its colon). */
const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

export function formatZodIssues(error: z.ZodError, env: Env = {}): string[] {
  return error.issues.map((i) => {
    const key = i.path.join('.');
    const from = FROM_ENV.find((f) => env[f.name] && (key === f.key || key.startsWith(`${f.key}.`)));
    if (from) return `${from.name} (environment variable): ${i.message}${from.secret ? '' : ` (it is ${JSON.stringify(env[from.name])})`}`;
    return `${key || '(top level)'}: ${i.message}`;
  });
}

/**
 * Resolves the configuration once: built-in defaults (the seed's mappings),
 * then the config file, then environment variables (secrets belong there).
 */
export function loadConfig(options: { path?: string | undefined; env?: Env; cwd?: string; overrides?: Json } = {}): LoadedConfig {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.path ?? env[ENV.configPath];
  const candidate = explicit ?? (existsSync(path.join(cwd, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  const source = candidate ? path.resolve(cwd, candidate) : undefined;

  const fileJson = source ? readConfigFile(source) : {};
  let raw: Json = deepMerge(DEFAULT_CONFIG as unknown as Json, fileJson);
  raw = deepMerge(raw, envOverrides(env));
  if (options.overrides) raw = deepMerge(raw, options.overrides);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = formatZodIssues(result.error, options.overrides ? {} : env);
    const envOnly = lines.every((l) => l.includes('(environment variable)'));
    throw new ConnectorError('CONFIG_INVALID', `Invalid configuration${source && !envOnly ? ` in ${source}` : ''}:\n  ${lines.join('\n  ')}`, {
      fix: envOnly
        ? 'Correct or unset the environment variables named above.'
        : 'Correct the keys (or environment variables) named above; the JSON schema config.schema.json gives completion and checks in editors.',
    });
  }
  const config = result.data;
  const warnings: string[] = [];
  for (const [section, envName] of [['ipaas', ENV.ipaasApiKey], ['openai', ENV.openaiApiKey]] as const) {
    const block = fileJson[section];
    if (isPlainObject(block) && block.apiKey) warnings.push(`An API key is written in ${source} (${section}.apiKey): prefer the ${envName} environment variable.`);
  }
  // IPAAS_OPENAI_DB wins over the file: a URL selects PostgreSQL, a path SQLite.
  const dbEnv = env[ENV.dbPath];
  if (dbEnv) {
    if (URL_SCHEME.test(dbEnv)) config.store.url = dbEnv;
    else {
      config.store.path = dbEnv;
      delete config.store.url;
    }
  }
  if (config.store.url !== undefined) {
    const scheme = URL_SCHEME.exec(config.store.url)?.[1]?.toLowerCase();
    const where = dbEnv ? ENV.dbPath : `store.url${source ? ` in ${source}` : ''}`;
    if (scheme !== 'postgres' && scheme !== 'postgresql') {
      throw new ConnectorError('CONFIG_INVALID', `The database URL in ${where} is not a PostgreSQL URL (${scheme ? `${scheme}://` : 'no scheme'}).`, {
        fix: 'Use postgres://user:password@host:5432/database for PostgreSQL, or a file path (or nothing) for the embedded SQLite database.',
      });
    }
    try {
      new URL(config.store.url);
    } catch {
      throw new ConnectorError('CONFIG_INVALID', `The database URL in ${where} cannot be read as a URL.`, {
        fix: 'Write it as postgres://user:password@host:5432/database; percent-encode special characters in the password.',
      });
    }
  }
  if (config.store.path !== ':memory:' && !path.isAbsolute(config.store.path)) {
    config.store.path = path.resolve(source ? path.dirname(source) : cwd, config.store.path);
  }
  if (config.log.path !== '-' && !path.isAbsolute(config.log.path)) {
    config.log.path = path.resolve(source ? path.dirname(source) : cwd, config.log.path);
  }
  const dbPassword = config.store.url ? decodeURIComponent(new URL(config.store.url).password) : undefined;
  const secrets = [config.ipaas.apiKey, config.ipaas.login?.password, config.openai.apiKey, config.server.webhookApiKey, config.server.webhookHmacSecret, config.server.adminToken, config.privacy.hashKey, dbPassword, ...webhookSecretParts(config.openai.webhookSecret)].filter(
    (s): s is string => !!s,
  );
  return { config, source, warnings, secrets };
}

/** The whole signing secret and its key (the base64 after whsec_): either one in a text is a leak. */
function webhookSecretParts(secret: string | undefined): string[] {
  return secret ? [secret, secret.slice('whsec_'.length)] : [];
}

/** The JSON schema editors use for completion (written to config.schema.json by `npm run schema`). */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  // A config file may leave out every section: the built-in defaults (the seed's mappings) fill them in.
  delete schema.required;
  return schema;
}
