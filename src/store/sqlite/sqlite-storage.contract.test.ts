import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { storageContract, storageContractOptions } from '../storage-contract.js';
import { SqliteStore } from './sqlite-store.js';

storageContract('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'storage-contract-'));
  const storage = new SqliteStore(path.join(dir, 'store.db'), storageContractOptions);
  return {
    storage,
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
