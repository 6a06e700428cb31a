import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FROM_COLLECTION, DEFAULT_TO_COLLECTION } from '../src/config/defaults.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { previewRecord } from '../src/pipeline/preview.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('preview runs the same steps as a sync, filter included', () => {
  it("says a record the FROM collection's filter excludes would be skipped without a call", async () => {
    const from = { ...DEFAULT_FROM_COLLECTION, filter: { recordType: 'Customer' as const, expression: "CustomerNumber != 'CUST-10045'" } };
    h = await startHarness({ config: { mappingCollections: [from, DEFAULT_TO_COLLECTION] } });
    const excluded = await previewRecord(h.loaded.config, h.connector.ipaas, { customerNumber: 'CUST-10045' });
    expect(excluded.skippedBecause).toContain("The filter `CustomerNumber != 'CUST-10045'`");
    const kept = await previewRecord(h.loaded.config, h.connector.ipaas, { customerNumber: 'CUST-10046' });
    expect(kept.skippedBecause).toBeNull();
    expect(h.emulators.openai.emulator.counters.requests).toBe(0);
  });
});
