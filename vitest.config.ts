import { defineConfig } from 'vitest/config';

// Two cores: most files wait on real processes (PostgreSQL, the local cloud, Chromium), so two run
// at once. The failover tests measure seconds-long failovers against deadlines and run alone,
// after the rest.
const HA = 'test/ha/**/*.test.ts';

export default defineConfig({
  test: {
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['shared/test/**/*.test.ts', 'functions/test/**/*.test.ts', 'infra/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [HA],
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'failover', include: [HA], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
