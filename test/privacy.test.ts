/**
 * What leaves for OpenAI, as the emulator receives it over HTTP: each FROM transform applied (the
 * field, and the same field in a PromptText placeholder), a safety_identifier that is a hash (never
 * the CustomerNumber), a prompt_cache_key from the prompt version, store: false; and `preview`
 * shows exactly that body.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { keyedHash } from '../src/mapping/transforms.js';
import { previewRecord } from '../src/pipeline/preview.js';
import { runSync } from '../src/triggers/manual-sync.js';
import { startHarness, type Harness } from './helpers/harness.js';

const HASH_KEY = 'test-hash-key-0123456789abcdef';
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const collections = (prompt: string) => [
  {
    name: 'OpenAI Add/Update Customer FROM iPaaS',
    direction: 'FROM iPaaS',
    mappings: [
      { type: 'Field', source: 'CustomerNumber', destination: 'Id' },
      { type: 'Static', source: prompt, destination: 'PromptText' },
      { type: 'Field', source: 'FirstName', destination: 'FirstName' },
      { type: 'Field', source: 'LastName', destination: 'LastName', transform: 'hash' },
      { type: 'Field', source: 'EmailAddress', destination: 'EmailAddress', transform: 'mask-email' },
      { type: 'Field', source: 'Comment', destination: 'Comment', transform: 'truncate:7' },
      { type: 'Field', source: 'Categories', destination: 'Categories', transform: 'drop' },
    ],
  },
  { name: 'OpenAI Add/Update Customer TO iPaaS', direction: 'TO iPaaS', mappings: [{ type: 'Field', source: 'Comment', destination: 'Comment' }] },
];

describe('privacy controls on what is sent', () => {
  it('each transform as sent, in the data and in PromptText placeholders; a hashed safety_identifier; prompt_cache_key; store false; preview shows the same body', async () => {
    h = await startHarness({
      config: { mappingCollections: collections('Summarise {{FirstName}} {{LastName}} <{{EmailAddress}}> in the comment field.') },
      env: { IPAAS_OPENAI_HASH_KEY: HASH_KEY },
    });
    const preview = await previewRecord(h.loaded.config, h.connector.ipaas, { customerNumber: 'CUST-10045' });
    const summary = await runSync(h.connector, [{ customerNumber: 'CUST-10045' }], { trigger: { source: 'manual' } });
    expect(summary.synced).toBe(1);
    const sent = h.emulators.openai.emulator.requests().find((r) => r.path.endsWith('/responses'))!.body as Record<string, any>;

    const data = JSON.parse(sent.input[0].content);
    expect(data).toEqual({
      Id: 'CUST-10045',
      FirstName: 'Keanu',
      LastName: keyedHash(HASH_KEY, 'Reeves'),
      EmailAddress: '***@example.com',
      Comment: 'Prefers',
    });
    expect(sent.instructions).toContain(`Summarise Keanu ${keyedHash(HASH_KEY, 'Reeves')} <***@example.com> in the comment field.`);
    const raw = JSON.stringify(sent);
    for (const secretish of ['Reeves', 'keanu.reeves', 'VIP', 'email contact', HASH_KEY]) expect(raw).not.toContain(secretish);

    expect(sent.safety_identifier).toMatch(/^cust-[0-9a-f]{32}$/);
    expect(sent.safety_identifier).not.toContain('10045');
    expect(sent.prompt_cache_key).toMatch(/^ipaas-openai-[0-9a-f]{10}$/);
    expect(sent.store).toBe(false);

    // preview is the exact body, per-call fields and all.
    expect(preview.request).toEqual(sent);
  });

  it('the hash transform without a key is refused when the config loads, naming the variable', async () => {
    await expect(startHarness({ config: { mappingCollections: collections('Summarise the customer in the comment field.') } })).rejects.toThrow(
      /mappingCollections\.0\.mappings\.3\.transform: the hash transform needs a key: set IPAAS_OPENAI_HASH_KEY/,
    );
  });

  it('safety_identifier and prompt_cache_key can be turned off; store can be turned on', async () => {
    h = await startHarness({ config: { privacy: { safetyIdentifier: false, promptCacheKey: false }, openai: { store: true } } });
    await runSync(h.connector, [{ customerNumber: 'CUST-10046' }], { trigger: { source: 'manual' } });
    const sent = h.emulators.openai.emulator.requests().find((r) => r.path.endsWith('/responses'))!.body as Record<string, unknown>;
    expect(sent).not.toHaveProperty('safety_identifier');
    expect(sent).not.toHaveProperty('prompt_cache_key');
    expect(sent.store).toBe(true);
  });
});
