import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';

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
  'test/deploy/stop-start.test.ts',
  'test/apps/app-restart.test.ts',
];

// The suite's longest files, longest first (minutes each in CI). Without results of an earlier run
// vitest starts larger files first, and these small ones would start late and leave one worker
// running them alone at the end; started first, the other worker meanwhile runs the many short files.
const LONGEST = [
  'test/backups/point-in-time.test.ts',
  'test/backups/archive-validation.test.ts',
  'test/deploy/deploy-failures.test.ts',
  'test/backups/backups.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = LONGEST.indexOf(relative(spec.project.config.root, spec.moduleId));
      return index === -1 ? LONGEST.length : index;
    };
    const sorted = await super.sort(files);
    // Within a project only: the projects keep their order (the alone group after the suite).
    const group = (spec: TestSpecification) => sorted.findIndex((other) => other.project === spec.project);
    return sorted
      .map((spec, position) => ({ spec, position }))
      .sort((a, b) => group(a.spec) - group(b.spec) || rank(a.spec) - rank(b.spec) || a.position - b.position)
      .map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    testTimeout: 20_000,
    sequence: { sequencer: LongestFirst },
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
