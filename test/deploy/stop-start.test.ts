import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Api, selectAsApp } from '../support/api.ts';
import type { Deployment } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { logIn } from '../support/users.ts';

// Stopping a plan stops its server and keeps its data; the plan says `stopped`, the local cloud
// does not start the server again when it restarts, and a start brings back the same database.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const select = selectAsApp;

const inStatus = (status: string) => (deployment: Deployment) => deployment.status === status || deployment.status === 'failed';
const nodeRecord = (home: string, planId: string) =>
  JSON.parse(readFileSync(join(home, 'instances', planId, 'db-0', 'node.json'), 'utf8')) as { running: boolean };

describe('stopping and starting a plan', () => {
  const cloud = useLocalCloud();

  it('stops the server keeping its data, stays stopped across a restart, and starts again with the same database', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'nightly', db: { backup: { validate: false } } }));
    const neverDeployed = await cloud.api.createPlan(planWith({ name: 'draft' }));
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/start`)).status).toBe(409);
    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status).toBe('running');
    const before = await cloud.api.credentials(planId);
    expect(select(before, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('through the night'); SELECT 'ok'")).toBe('ok');

    // Another customer can neither stop nor start it, and a plan with nothing deployed has nothing to stop.
    for (const action of ['stop', 'start']) expect((await cloud.other.api.call('POST', `/v1/plan/${planId}/${action}`)).status).toBe(404);
    const draft = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${neverDeployed}/stop`);
    expect(draft.status).toBe(409);
    expect(draft.json.detail).toMatch(/nothing deployed|no deployed database/);
    const running = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${planId}/start`);
    expect(running.status).toBe(409);
    expect(running.json.detail).toMatch(/Only a stopped plan can be started; this one is running/);

    const stop = await cloud.api.call<{ status: string; deploymentId: string }>('POST', `/v1/plan/${planId}/stop`);
    expect(stop.status).toBe(202);
    expect(stop.json.status).toBe('stopping');
    expect(stop.json.deploymentId).toMatch(/^[0-9a-f-]{36}$/);
    const stopped = await cloud.api.waitForDeployment(planId, inStatus('stopped'), 60_000);
    expect(stopped.status, stopped.reason).toBe('stopped');
    expect(stopped.steps.map((step) => step.name)).toEqual(expect.arrayContaining(['StopNodes', 'MarkStopped']));
    expect(select(before, 'SELECT 1')).toMatch(/^error/);
    expect(nodeRecord(cloud.home, planId).running).toBe(false);
    const plan = await cloud.api.call<{ status: string }>('GET', `/v1/plan/${planId}`);
    expect(plan.json.status).toBe('stopped');
    const view = await cloud.api.call<{ components: { id: string; status: string }[]; backup?: { nextRunAt?: string } }>(
      'GET',
      `/v1/plan/${planId}/deployment`,
    );
    expect(view.json.components).toEqual([expect.objectContaining({ id: 'db', status: 'stopped' })]);
    expect(view.json.backup?.nextRunAt).toBeUndefined();

    // What needs a running server says the plan is stopped; stopping again changes nothing.
    const again = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${planId}/stop`);
    expect(again.status).toBe(409);
    expect(again.json.detail).toBe('The plan is already stopped.');
    const backup = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${planId}/backups`);
    expect(backup.status).toBe(409);
    expect(backup.json.detail).toMatch(/stopped; start it/);

    // The local cloud restarts without starting the stopped server.
    expect(await cloud.stop()).toBe(0);
    await cloud.start();
    const api = new Api(cloud.url, (await logIn(cloud.config, cloud.user.email, cloud.user.password)).accessToken);
    expect((await api.call<{ status: string }>('GET', `/v1/plan/${planId}`)).json.status).toBe('stopped');
    expect(select(before, 'SELECT 1')).toMatch(/^error/);

    const start = await api.call<{ status: string }>('POST', `/v1/plan/${planId}/start`);
    expect(start.status).toBe(202);
    expect(start.json.status).toBe('starting');
    const started = await api.waitForDeployment(planId, inStatus('running'), 90_000);
    expect(started.status, started.reason).toBe('running');
    expect(started.mode).toBe('start');
    const after = await api.credentials(planId);
    expect(after.password).toBe(before.password);
    expect(select(after, 'SELECT v FROM kept')).toBe('through the night');
    expect(nodeRecord(cloud.home, planId).running).toBe(true);
  });
});

describe('a stop or a start that fails', () => {
  const cloud = useLocalCloud();

  it('turns red with the reason when a stop or a start fails, keeps the data, and a deploy brings the plan back', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'flaky', db: { backup: { validate: false } } }));
    await cloud.api.deploy(planId);
    const credentials = await cloud.api.credentials(planId);
    expect(select(credentials, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('safe'); SELECT 'ok'")).toBe('ok');

    cloud.injectFault('StopNodes', 'always');
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/stop`)).status).toBe(202);
    const refused = await cloud.api.waitForDeployment(planId, (view) => view.status === 'failed', 60_000);
    expect(refused.reason).toMatch(/^StopNodes: injected fault: StopNodes fails/);
    expect(select(credentials, 'SELECT v FROM kept')).toBe('safe');
    cloud.clearFaults();

    // A failed stop leaves the nodes deployed: stopping again works.
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/stop`)).status).toBe(202);
    expect((await cloud.api.waitForDeployment(planId, inStatus('stopped'), 60_000)).status).toBe('stopped');

    cloud.injectFault('LaunchNodes', 'always');
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/start`)).status).toBe(202);
    const failedStart = await cloud.api.waitForDeployment(planId, (view) => view.status === 'failed', 60_000);
    cloud.clearFaults();
    expect(failedStart.reason).toMatch(/LaunchNodes: injected fault/);
    expect(failedStart.mode).toBe('start');
    const again = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${planId}/start`);
    expect(again.status).toBe(409);
    expect(again.json.detail).toBe('Only a stopped plan can be started; this one is failed.');

    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status, deployment.reason).toBe('running');
    expect(select(await cloud.api.credentials(planId), 'SELECT v FROM kept')).toBe('safe');
  });
});
