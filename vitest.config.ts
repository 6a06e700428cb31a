import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that load the machine (several processes, thousands of customers) or that measure pace (a rate
 * limit used, a cool-down honoured). On two shared cores they starve each other and everything beside
 * them, so they run after the rest, one file at a time: each then has the machine to itself.
 */
const LOAD = [
  'test/several-instances*.test.ts',
  'test/crash-recovery.test.ts',
  'test/cli-sync-kill.test.ts',
  'test/batch-adoption-process.test.ts',
  'test/fault-storm.test.ts',
  'test/rate-limit.test.ts',
  'test/serve-sigterm.test.ts',
  'test/bulk.test.ts',
  'src/store/postgres/postgres-rate-budget.test.ts',
  'src/pacing/shared-rate-budget.test.ts',
];

export default defineConfig({
  test: {
    // Generous: a slow CI machine is not a failure; a hang still is.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/plain-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['src/**/*.test.ts', 'emulators/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...LOAD],
          // Integration tests start real servers on loopback; two cores, so keep parallelism modest.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'load', include: LOAD, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
