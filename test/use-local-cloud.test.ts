import { describe, expect, it, vi } from 'vitest';
import { singleNodePlan } from './support/plans.ts';
import { processesWorkingIn } from './support/processes.ts';
import { useLocalCloud } from './support/use-local-cloud.ts';

// The test kit's promise: whatever a file's tests leave running, useLocalCloud's teardown ends.
// The servers of a killed local cloud outlive it (pg_ctl detaches them): the hardest case.

vi.setConfig({ testTimeout: 120_000 });

let home: string;

describe('tests that kill the local cloud while a server of theirs runs', () => {
  const cloud = useLocalCloud();

  it('leave the server and the cloud’s helpers running in its home', async () => {
    const planId = await cloud.api.createPlan(singleNodePlan);
    expect((await cloud.api.deploy(planId)).deployment.status).toBe('running');

    await cloud.stop('SIGKILL');

    home = cloud.home;
    expect(await processesWorkingIn(home)).not.toEqual([]);
  });
});

describe('once their block is done', () => {
  it('nothing runs in that home any more', async () => {
    expect(await processesWorkingIn(home)).toEqual([]);
  });
});
