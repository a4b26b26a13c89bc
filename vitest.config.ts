import { defineConfig } from 'vitest/config';

// Two cores: most files wait on real processes (PostgreSQL, the local cloud), so two run at once.
// The failover tests (seconds-long failovers against deadlines), the browser tests (Chromium beside
// the local cloud, timed against the page) and the restart tests (which start the local cloud again
// on the ports it had, which a file running beside it could take meanwhile) run one at a time,
// after the rest. test/ha/etcd-members.test.ts runs beside the others: its etcd members listen on
// loopback addresses no other test uses (127.0.0.21-24), and nothing in it races a deadline.
const ALONE = [
  'test/ha/failover.test.ts',
  'test/ha/fencing.test.ts',
  'test/ha/synchronous.test.ts',
  'test/e2e/**/*.test.ts',
  'test/deploy/restart.test.ts',
  'test/apps/app-restart.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['shared/test/**/*.test.ts', 'functions/test/**/*.test.ts', 'infra/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ALONE,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
