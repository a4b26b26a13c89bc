import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { startLocalCloud, temporaryHome } from '../support/local-cloud.ts';
import type { LocalCloud } from '../support/local-cloud.ts';
import { logIn, signUp } from '../support/users.ts';

// A restart brings back users, plans and deployments, and starts the servers that were running;
// a deployment that a killed local cloud interrupted turns red instead of staying orange.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const clouds: LocalCloud[] = [];
afterAll(async () => {
  for (const cloud of clouds) await cloud.stop();
});

async function start(home: string): Promise<LocalCloud> {
  const cloud = await startLocalCloud({ home });
  clouds.push(cloud);
  return cloud;
}

async function api(cloud: LocalCloud, token: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${cloud.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
}

async function waitForStatus(cloud: LocalCloud, token: string, planId: string, status: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const deployment = (await api(cloud, token, 'GET', `/v1/plan/${planId}/deployment`)).json;
    if (deployment.status === status) return deployment;
    if (Date.now() > deadline) throw new Error(`expected ${status}, got ${JSON.stringify(deployment)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const plan = {
  apiVersion: 'cs/v1',
  name: 'survivor',
  components: [{ id: 'db', type: 'postgres', hardware: { memoryGiB: 1 }, db: { version: '15', maxConnections: 30 } }],
};

function select(credentials: Record<string, unknown>, sql: string): string {
  const result = spawnSync(
    'psql',
    [
      '-X',
      '-q',
      '-tA',
      `host=${String(credentials.host)} port=${String(credentials.port)} dbname=app user=app sslmode=require connect_timeout=5`,
      '-c',
      sql,
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: String(credentials.password) } },
  );
  return result.status === 0 ? result.stdout.trim() : `error: ${result.stderr.trim()}`;
}

describe('restarting the local cloud', () => {
  it('brings back users, plans, deployments and the running servers', async () => {
    const home = await temporaryHome();
    const first = await start(home);
    const user = await signUp(first.config);
    const planId = (await api(first, user.accessToken, 'POST', '/v1/plan', plan)).json.id as string;
    expect((await api(first, user.accessToken, 'POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
    await waitForStatus(first, user.accessToken, planId, 'running');
    const before = (await api(first, user.accessToken, 'GET', `/v1/plan/${planId}/deployment/credentials`)).json;
    expect(select(before, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here'); SELECT 'ok'")).toBe('ok');
    expect(await first.stop()).toBe(0);
    expect(select(before, 'SELECT 1')).toMatch(/^error/);

    const second = await start(home);
    const tokens = await logIn(second.config, user.email, user.password);
    const again = await api(second, tokens.accessToken, 'GET', `/v1/plan/${planId}`);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ id: planId, status: 'running', spec: { name: 'survivor' } });
    const after = (await api(second, tokens.accessToken, 'GET', `/v1/plan/${planId}/deployment/credentials`)).json;
    expect(after.password).toBe(before.password);
    expect(select(after, 'SELECT v FROM kept')).toBe('still here');
  });

  it('turns a deployment that a killed local cloud interrupted red, and a new deploy succeeds', async () => {
    const home = await temporaryHome();
    const first = await start(home);
    const user = await signUp(first.config);
    const planId = (await api(first, user.accessToken, 'POST', '/v1/plan', plan)).json.id as string;
    expect((await api(first, user.accessToken, 'POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
    await first.stop('SIGKILL');

    const second = await start(home);
    const tokens = await logIn(second.config, user.email, user.password);
    const red = await waitForStatus(second, tokens.accessToken, planId, 'failed');
    expect(red.reason).toMatch(/stopped while this deployment ran/);
    expect((await api(second, tokens.accessToken, 'POST', `/v1/plan/${planId}/deploy`)).status).toBe(202);
    await waitForStatus(second, tokens.accessToken, planId, 'running');
  });
});
