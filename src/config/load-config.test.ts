import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ConnectorError } from '../shared/errors.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_FROM_COLLECTION, SEED_PROMPT_TEXT } from './defaults.js';
import { loadConfig } from './load-config.js';

const dir = () => mkdtempSync(path.join(tmpdir(), 'ipaas-openai-config-'));

describe('loadConfig', () => {
  it('defaults reproduce the seed mapping table', () => {
    const { config } = loadConfig({ env: {}, cwd: dir() });
    const from = config.mappingCollections[0]!;
    expect(from.name).toBe('OpenAI Add/Update Customer FROM iPaaS');
    expect(from.triggerEvents).toEqual(['Manual', 'Customer Create', 'Customer Update']);
    expect(from.mappings.map((m) => [m.type, m.type === 'Static' ? 'PromptText' : m.source, m.destination])).toEqual([
      ['Field', 'CustomerNumber', 'Id'],
      ['Static', 'PromptText', 'PromptText'],
      ['Field', 'CustomerNumber', 'CustomerNumber'],
      ['Field', 'FirstName', 'FirstName'],
      ['Field', 'LastName', 'LastName'],
      ['Field', 'EmailAddress', 'EmailAddress'],
      ['Field', 'Categories', 'Categories'],
      ['Field', 'Comment', 'Comment'],
    ]);
    expect(DEFAULT_FROM_COLLECTION.mappings[1]!.source).toBe(SEED_PROMPT_TEXT);
    expect(config.openai).toMatchObject({ baseUrl: 'https://api.openai.com/v1', model: 'gpt-5-nano', api: 'responses' });
  });

  it('reads YAML, then lets env override secrets and URLs', () => {
    const d = dir();
    writeFileSync(path.join(d, 'ipaas-openai.yaml'), 'openai:\n  model: gpt-4o-mini\n  api: chat\n  temperature: 0.2\nstore:\n  path: my.db\n');
    const { config, secrets, source } = loadConfig({ env: { OPENAI_API_KEY: 'sk-test-123456', IPAAS_BASE_URL: 'http://127.0.0.1:9/' }, cwd: d });
    expect(source).toBe(path.join(d, 'ipaas-openai.yaml'));
    expect(config.openai).toMatchObject({ model: 'gpt-4o-mini', api: 'chat', temperature: 0.2, apiKey: 'sk-test-123456' });
    expect(config.ipaas.baseUrl).toBe('http://127.0.0.1:9/');
    expect(config.store.path).toBe(path.join(d, 'my.db'));
    expect(secrets).toEqual(['sk-test-123456']);
  });

  it('a postgres:// URL selects PostgreSQL, the environment wins over the file, other schemes are refused', () => {
    const d = dir();
    writeFileSync(path.join(d, 'ipaas-openai.yaml'), 'store:\n  url: postgresql://app:s3cret%21@db.internal:5432/ipaas\n');
    const fromFile = loadConfig({ env: {}, cwd: d });
    expect(fromFile.config.store.url).toBe('postgresql://app:s3cret%21@db.internal:5432/ipaas');
    expect(fromFile.secrets).toContain('s3cret!'); // the password is redacted like any other secret
    // A path in IPAAS_OPENAI_DB wins over the file's URL: SQLite.
    expect(loadConfig({ env: { IPAAS_OPENAI_DB: 'local.db' }, cwd: d }).config.store).toEqual({ path: path.join(d, 'local.db') });
    expect(loadConfig({ env: { IPAAS_OPENAI_DB: 'postgres://u@127.0.0.1:5433/x' }, cwd: d }).config.store.url).toBe('postgres://u@127.0.0.1:5433/x');
    // Not silently a SQLite file named "mysql:".
    expect(() => loadConfig({ env: { IPAAS_OPENAI_DB: 'mysql://u@h/x' }, cwd: dir() })).toThrow(/IPAAS_OPENAI_DB is not a PostgreSQL URL \(mysql:\/\/\)/);
    expect(() => loadConfig({ env: { IPAAS_OPENAI_DB: 'postgres://u@[bad/x' }, cwd: dir() })).toThrow(/cannot be read as a URL/);
    // Nothing configured: the embedded SQLite default.
    expect(loadConfig({ env: {}, cwd: dir() }).config.store.url).toBeUndefined();
  });

  it('warns when a key is written in the file', () => {
    const d = dir();
    writeFileSync(path.join(d, 'c.json'), JSON.stringify({ openai: { apiKey: 'sk-in-file-0000' } }));
    const { warnings } = loadConfig({ path: 'c.json', env: {}, cwd: d });
    expect(warnings[0]).toMatch(/openai.apiKey.*OPENAI_API_KEY/);
  });

  it('fails fast naming the bad key and how to fix it', () => {
    const d = dir();
    writeFileSync(path.join(d, 'ipaas-openai.yaml'), 'openai:\n  api: soap\n  modle: x\n');
    expect(() => loadConfig({ env: {}, cwd: d })).toThrow(/openai\.api: Invalid option[\s\S]*modle/);
    writeFileSync(path.join(d, 'bad.yaml'), 'openai: [unclosed');
    expect(() => loadConfig({ path: 'bad.yaml', env: {}, cwd: d })).toThrow(/not valid YAML/);
    expect(() => loadConfig({ path: 'missing.yaml', env: {}, cwd: d })).toThrow(/Cannot read config file/);
  });

  it('a bad value from the environment is named by its variable, secrets never echoed', () => {
    const d = dir();
    const err = (env: Record<string, string>) => {
      try {
        loadConfig({ env, cwd: d });
      } catch (e) {
        return e as ConnectorError;
      }
      throw new Error('no error');
    };
    const url = err({ IPAAS_BASE_URL: 'notaurl' });
    expect(url.message).toMatch(/IPAAS_BASE_URL \(environment variable\): Invalid URL \(it is "notaurl"\)/);
    expect(url.message).not.toMatch(/ipaas\.baseUrl/);
    expect(url.fix).toMatch(/environment variables named above/);
    expect(err({ PORT: 'eighty' }).message).toMatch(/PORT \(environment variable\): .*\(it is "eighty"\)/);
    const style = err({ OPENAI_API_STYLE: 'soap', OPENAI_API_KEY: 'sk-secret-value-123' });
    expect(style.message).toMatch(/OPENAI_API_STYLE \(environment variable\)/);
    expect(style.message).not.toContain('sk-secret-value-123');
  });

  it("OPENAI_WEBHOOK_SECRET is openai.webhookSecret, a secret: redacted whole and by its key, never echoed when wrong", () => {
    const d = dir();
    const secret = 'whsec_c2VjcmV0LWtleS1mb3ItdGhlLXRlc3Q=';
    const { config, secrets } = loadConfig({ env: { OPENAI_WEBHOOK_SECRET: secret }, cwd: d });
    expect(config.openai.webhookSecret).toBe(secret);
    expect(secrets).toEqual([secret, secret.slice('whsec_'.length)]);
    expect(loadConfig({ env: {}, cwd: d }).config.openai.webhookSecret).toBeUndefined();
    let e: ConnectorError | undefined;
    try {
      loadConfig({ env: { OPENAI_WEBHOOK_SECRET: 'sk-not-a-webhook-secret' }, cwd: d });
    } catch (err) {
      e = err as ConnectorError;
    }
    expect(e?.message).toMatch(/OPENAI_WEBHOOK_SECRET \(environment variable\): give the endpoint's signing secret as OpenAI shows it: whsec_/);
    expect(e?.message).not.toContain('sk-not-a-webhook-secret');
  });
});

describe('shipped files', () => {
  it('config.schema.json is current (run `npm run schema` after changing the config schema)', async () => {
    const { readFileSync } = await import('node:fs');
    const { configJsonSchema } = await import('./load-config.js');
    const file = path.resolve(import.meta.dirname, '../../config.schema.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(configJsonSchema());
  });

  it('the example config is valid and equals the defaults for the mappings', () => {
    const example = path.resolve(import.meta.dirname, '../../ipaas-openai.example.yaml');
    const { config } = loadConfig({ path: example, env: {} });
    const defaults = loadConfig({ env: {}, cwd: dir() }).config;
    const strip = (c: typeof config) => c.mappingCollections.map((col) => ({ ...col, mappings: col.mappings.map(({ description: _d, ...m }) => m) }));
    expect(strip(config)).toEqual(strip(defaults));
  });
});
