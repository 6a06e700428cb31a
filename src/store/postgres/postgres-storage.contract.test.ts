import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { storageContract, storageContractOptions } from '../storage-contract.js';
import { openPostgresStorage } from './index.js';

let cluster: PostgresCluster;
beforeAll(async () => {
  cluster = await startPostgres();
}, 60_000);
afterAll(async () => cluster?.stop());

storageContract('PostgreSQL', async () => {
  const storage = await openPostgresStorage(await cluster.createDatabase(), storageContractOptions);
  return { storage, close: () => storage.close() };
});
