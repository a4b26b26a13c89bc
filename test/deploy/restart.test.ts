import { describe, expect, it, vi } from 'vitest';
import { Api, selectAsApp } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { logIn } from '../support/users.ts';

// A restart brings back users, plans and deployments, and starts the servers that were running;
// a deployment that a killed local cloud interrupted turns red instead of staying orange.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const plan = planWith({ name: 'survivor' });

const select = selectAsApp;

const inStatus = (status: string) => (deployment: { status: string }) => deployment.status === status;

describe('restarting the local cloud', () => {
  describe('after a clean stop', () => {
    const cloud = useLocalCloud();

    it('brings back users, plans, deployments and the running servers', async () => {
      const planId = await cloud.api.createPlan(plan);
      expect((await cloud.api.call('POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
      await cloud.api.waitForDeployment(planId, inStatus('running'), 60_000);
      const before = await cloud.api.credentials(planId);
      expect(select(before, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here'); SELECT 'ok'")).toBe('ok');
      expect(await cloud.stop()).toBe(0);
      expect(select(before, 'SELECT 1')).toMatch(/^error/);

      await cloud.start();
      const api = new Api(cloud.url, (await logIn(cloud.config, cloud.user.email, cloud.user.password)).accessToken);
      const again = await api.call('GET', `/v1/plan/${planId}`);
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ id: planId, status: 'running', spec: { name: 'survivor' } });
      const after = await api.credentials(planId);
      expect(after.password).toBe(before.password);
      expect(select(after, 'SELECT v FROM kept')).toBe('still here');
    });
  });

  describe('after a kill', () => {
    const cloud = useLocalCloud();

    it('turns a deployment that a killed local cloud interrupted red, and a new deploy succeeds', async () => {
      const planId = await cloud.api.createPlan(plan);
      expect((await cloud.api.call('POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
      await cloud.stop('SIGKILL');

      await cloud.start();
      const api = new Api(cloud.url, (await logIn(cloud.config, cloud.user.email, cloud.user.password)).accessToken);
      const red = await api.waitForDeployment(planId, inStatus('failed'), 60_000);
      expect(red.reason).toMatch(/stopped while this deployment ran/);
      expect((await api.call('POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
      await api.waitForDeployment(planId, inStatus('running'), 60_000);
    });
  });
});
