import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Credentials, Deployment } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// Deploys that fail on the local cloud: a major that is not installed, and a failure injected at
// each step of the workflow, which retries, goes red with that step and leaves nothing behind.
// Apart from deploy.test.ts, on a local cloud of their own, so that the two run side by side.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();

function planBody(name: string, db: Record<string, unknown> = {}) {
  return planWith({ name, hardware: { cpus: 2, memoryGiB: 1, storage: { sizeGiB: 20 } }, db: { version: '15', maxConnections: 40, ...db } });
}

const call = (method: string, path: string) => cloud.api.call(method, path);
const createPlan = (body: unknown) => cloud.api.createPlan(body);
const credentials = (planId: string) => cloud.api.credentials(planId);

async function deploy(planId: string, expectedMode: 'create' | 'update'): Promise<Deployment> {
  const { mode, deployment } = await cloud.api.deploy(planId);
  expect(mode).toBe(expectedMode);
  return deployment;
}

function psql(creds: Credentials, sql: string) {
  const result = spawnSync(
    'psql',
    [
      '-X',
      '-tA',
      '-v',
      'ON_ERROR_STOP=1',
      `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require connect_timeout=5`,
      '-c',
      sql,
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
  );
  return { ok: result.status === 0, out: result.stdout.trim(), err: result.stderr.trim() };
}

function instanceDirs(planId: string): string[] {
  const directory = join(cloud.home, 'instances', planId);
  return existsSync(directory) ? readdirSync(directory) : [];
}

describe('failures', () => {
  it('refuses a major that is not installed here, red at Preflight with the reason, and leaves nothing', async () => {
    const planId = await createPlan(planBody('needs-17', { version: '17' }));
    const failed = await deploy(planId, 'create');
    expect(failed.status).toBe('failed');
    expect(failed.reason).toMatch(/^Preflight: PostgreSQL 17 is not installed/);
    const preflight = failed.steps.find((step) => step.name === 'Preflight');
    expect(preflight?.status).toBe('failed');
    expect(preflight?.error).toMatch(/not installed/);
    expect(instanceDirs(planId)).toEqual([]);
  });

  it('answers credentials before any deploy with 409', async () => {
    const planId = await createPlan(planBody('not-yet'));
    expect((await call('GET', `/v1/plan/${planId}/deployment/credentials`)).status).toBe(409);
  });

  const steps = [
    'Render',
    'Preflight',
    'EnsurePassword',
    'EnsureSecurityGroup',
    'LaunchNodes',
    'CheckNodes',
    'SendInstall',
    'CheckInstall',
    'SendConfigure',
    'CheckConfigure',
    'Verify',
    'RegisterMonitoring',
    'MarkRunning',
  ];

  it.each(steps)('an injected failure at %s retries, goes red with that step, leaves no orphans, and the next deploy succeeds', async (step) => {
    const planId = await createPlan(planBody(`fault-${step.toLowerCase()}`));
    cloud.injectFault(step, 'always');
    const failed = await deploy(planId, 'create');
    cloud.clearFaults();
    expect(failed.status, JSON.stringify(failed)).toBe('failed');
    expect(failed.reason).toMatch(new RegExp(`^${step}: `));
    expect(instanceDirs(planId)).toEqual([]);
    expect(existsSync(join(cloud.home, 'secrets', planId))).toBe(false);

    const recovered = await deploy(planId, 'create');
    expect(recovered.status, JSON.stringify(recovered)).toBe('running');
    expect(psql(await credentials(planId), 'SELECT 1').out).toBe('1');
    expect((await call('DELETE', `/v1/plan/${planId}`)).status).toBe(202);
  });

  it('retries a step that fails once and still goes green', async () => {
    const planId = await createPlan(planBody('flaky'));
    cloud.injectFault('LaunchNodes', 'once');
    const running = await deploy(planId, 'create');
    expect(running.status, JSON.stringify(running)).toBe('running');
    expect((await call('DELETE', `/v1/plan/${planId}`)).status).toBe(202);
  });
});
