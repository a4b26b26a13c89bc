import { describe, expect, it, vi } from 'vitest';
import { Api, until } from '../support/api.ts';
import { processesWorkingIn } from '../support/processes.ts';
import { appPlan, SampleRepo } from '../support/sample-apps.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { logIn } from '../support/users.ts';

// The local cloud starts the apps that served when it stopped again, on the address they had:
// after a clean stop (their processes went with it) and after a kill (their processes were left
// running unsupervised, and are replaced).

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const answers = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    async (response) => (response.status === 200 ? ((await response.json()) as { notes: string[] }) : undefined),
    () => undefined,
  );

type Cloud = ReturnType<typeof useLocalCloud>;

/** Deploys the sample app, stops the local cloud with `signal`, looks around, and starts it again. */
async function deployStopAndStart(cloud: Cloud, signal: NodeJS.Signals) {
  const repo = new SampleRepo('node-notes');
  const planId = await cloud.api.createPlan(appPlan('kept', repo, { run: { releaseCommand: 'node migrate.js' } }));
  const { deployment } = await cloud.api.deploy(planId);
  expect(deployment.status, deployment.reason).toBe('running');
  const url = deployment.components?.find((component) => component.id === 'web')?.url ?? '';
  expect((await answers(url))?.notes).toEqual(['hello from the database']);
  const before = await processesWorkingIn(`${cloud.home}/apps`);
  expect(before.length).toBeGreaterThan(0);

  await cloud.stop(signal);
  const whileStopped = { answer: await answers(url), processes: await processesWorkingIn(`${cloud.home}/apps`) };
  await cloud.start();
  repo.remove();

  const api = new Api(cloud.url, (await logIn(cloud.config, cloud.user.email, cloud.user.password)).accessToken);
  const answer = await until(
    () => answers(url),
    (value) => value !== undefined,
    60_000,
  );
  const view = (await api.deployment(planId)).components?.find((component) => component.id === 'web');
  return { url, before, whileStopped, answer, view, after: await processesWorkingIn(`${cloud.home}/apps`) };
}

describe('an app after the local cloud stops cleanly', () => {
  const cloud = useLocalCloud();

  it('stops with it, and serves again on the same address once it is back', async () => {
    const { url, whileStopped, answer, view } = await deployStopAndStart(cloud, 'SIGTERM');

    expect(whileStopped).toEqual({ answer: undefined, processes: [] });
    expect(answer?.notes).toEqual(['hello from the database']);
    expect(view).toMatchObject({ status: 'running', url });
  });
});

describe('an app after the local cloud is killed', () => {
  const cloud = useLocalCloud();

  it('is replaced by a supervised version on the same address once the local cloud is back', async () => {
    const { url, before, answer, view, after } = await deployStopAndStart(cloud, 'SIGKILL');

    expect(answer?.notes).toEqual(['hello from the database']);
    expect(view).toMatchObject({ status: 'running', url });
    // What the killed cloud left running unsupervised is gone: only the version it started again runs.
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  });
});
