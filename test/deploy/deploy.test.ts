import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { tune } from '@cloudseed/shared';
import { settled } from '../support/api.ts';
import type { Credentials, Deployment } from '../support/api.ts';
import { clusterPlan, planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// One-click deploy on the local cloud, end to end over HTTP: real PostgreSQL servers, reached
// with psql over TLS like a customer would.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();

function planBody(name: string, db: Record<string, unknown> = {}, hardware: Record<string, unknown> = {}) {
  return planWith({
    name,
    hardware: { cpus: 2, memoryGiB: 1, storage: { sizeGiB: 20 }, ...hardware },
    db: { version: '15', maxConnections: 40, ...db },
  });
}

const call = (method: string, path: string, options: { token?: string; body?: unknown } = {}) => cloud.api.call(method, path, options);
const createPlan = (body: unknown) => cloud.api.createPlan(body);
const deployment = (planId: string) => cloud.api.deployment(planId);
const waitFor = (planId: string, done: (deployment: Deployment) => boolean, timeoutMs?: number) =>
  cloud.api.waitForDeployment(planId, done, timeoutMs);
const credentials = (planId: string) => cloud.api.credentials(planId);

async function deploy(planId: string, expectedMode: 'create' | 'update'): Promise<Deployment> {
  const { mode, deployment } = await cloud.api.deploy(planId);
  expect(mode).toBe(expectedMode);
  return deployment;
}

function psql(creds: Credentials, sql: string, options: { sslmode?: string; password?: string; host?: string } = {}) {
  const result = spawnSync(
    'psql',
    [
      '-X',
      '-tA',
      '-v',
      'ON_ERROR_STOP=1',
      `host=${options.host ?? creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=${options.sslmode ?? 'require'} connect_timeout=5`,
      '-c',
      sql,
    ],
    { encoding: 'utf8', env: { ...process.env, PGPASSWORD: options.password ?? creds.password } },
  );
  return { ok: result.status === 0, out: result.stdout.trim(), err: result.stderr.trim() };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function instanceDirs(planId: string): string[] {
  const directory = join(cloud.home, 'instances', planId);
  return existsSync(directory) ? readdirSync(directory) : [];
}

describe('deploy', () => {
  let planId: string;
  let creds: Credentials;

  it('takes a saved plan to a running, tuned, TLS-only PostgreSQL', async () => {
    planId = await createPlan(planBody('orders'));
    expect(await deployment(planId)).toEqual({
      status: 'not_deployed',
      steps: [],
      components: [{ id: 'db', type: 'postgres', status: 'not_deployed' }],
    });
    const started = await call('POST', `/v1/plan/${planId}/deploy`);
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ mode: 'create' });
    const busy = await call('POST', `/v1/plan/${planId}/deploy`);
    expect(busy.status).toBe(409);
    expect((await call('GET', `/v1/plan/${planId}`)).json).toMatchObject({ status: 'deploying' });

    const running = await waitFor(planId, settled);
    expect(running.status, JSON.stringify(running)).toBe('running');
    expect(running.steps.map((step) => step.name)).toEqual(
      expect.arrayContaining([
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
      ]),
    );
    expect(running.steps.every((step) => step.status === 'succeeded' && step.endedAt)).toBe(true);
    expect(running.executionArn).toMatch(/^arn:aws:states:.+:execution:cloudseed-deploy:/);
    expect(running.endpoint).toMatchObject({ host: '127.0.0.1', database: 'app', username: 'app' });
    expect((await call('GET', `/v1/plan/${planId}`)).json).toMatchObject({ status: 'running' });

    creds = await credentials(planId);
    expect(creds.uri).toBe(
      `postgresql://app:${creds.password}@127.0.0.1:${creds.port}/app?sslmode=verify-full&sslrootcert=cloudseed-${planId}-ca.crt`,
    );
    expect(JSON.stringify(running)).not.toContain(creds.password);

    const tuned = tune({ pgMajor: 15, memoryKb: 1024 * 1024, cpus: 2, connections: 40, workload: 'web', storage: 'ssd' }).settings;
    expect(psql(creds, 'SHOW max_connections').out).toBe('40');
    expect(psql(creds, 'SHOW shared_buffers').out).toBe(tuned.shared_buffers);
    expect(psql(creds, 'SHOW work_mem').out).toBe(tuned.work_mem);
    expect(psql(creds, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()').out).toBe('t');
  });

  it('runs a single server without Patroni or etcd, with nothing to switch over to', async () => {
    expect(existsSync(join(cloud.home, 'instances', planId, 'db-0', 'patroni.pid'))).toBe(false);
    expect(existsSync(join(cloud.home, 'instances', planId, 'db-dcs'))).toBe(false);
    expect(creds.uri).not.toContain('target_session_attrs');
    expect(creds.readOnlyUri).toBeUndefined();
    const switchover = await call('POST', `/v1/plan/${planId}/switchover`);
    expect(switchover.status, switchover.text).toBe(409);
  });

  it('refuses logins without TLS and with a wrong password', () => {
    const plain = psql(creds, 'SELECT 1', { sslmode: 'disable' });
    expect(plain.ok).toBe(false);
    expect(plain.err).toMatch(/pg_hba\.conf rejects connection|no encryption/);
    const wrong = psql(creds, 'SELECT 1', { password: 'not-the-password' });
    expect(wrong.ok).toBe(false);
    expect(wrong.err).toMatch(/password authentication failed/);
  });

  it('keeps the password out of every other route', async () => {
    for (const path of [`/v1/plan/${planId}`, `/v1/plan/${planId}/deployment`, '/v1/plan']) {
      expect(JSON.stringify((await call('GET', path)).json)).not.toContain(creds.password);
    }
  });

  it('hides the deployment from another customer', async () => {
    for (const [method, path] of [
      ['POST', `/v1/plan/${planId}/deploy`],
      ['GET', `/v1/plan/${planId}/deployment`],
      ['GET', `/v1/plan/${planId}/deployment/credentials`],
      ['DELETE', `/v1/plan/${planId}`],
    ] as const) {
      expect((await call(method, path, { token: cloud.other.user.accessToken })).status, `${method} ${path}`).toBe(404);
    }
  });

  it('re-deploys a changed plan in place and keeps the data', async () => {
    expect(
      psql(creds, 'CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g').ok,
    ).toBe(true);
    const checksum = psql(creds, "SELECT md5(string_agg(id::text || note, ',' ORDER BY id)) FROM orders").out;
    expect((await call('PUT', `/v1/plan/${planId}`, { body: planBody('orders', { maxConnections: 60 }, { storage: { sizeGiB: 30 } }) })).status).toBe(
      200,
    );
    const updated = await deploy(planId, 'update');
    expect(updated.status, JSON.stringify(updated)).toBe('running');
    const after = await credentials(planId);
    expect(after.password).toBe(creds.password);
    expect(psql(after, 'SHOW max_connections').out).toBe('60');
    expect(psql(after, "SELECT md5(string_agg(id::text || note, ',' ORDER BY id)) FROM orders").out).toBe(checksum);
  });

  it('refuses a smaller disk or another major for a running deployment, and starts nothing', async () => {
    expect(
      (await call('PUT', `/v1/plan/${planId}`, { body: planBody('orders', { maxConnections: 60, version: '16' }, { storage: { sizeGiB: 10 } }) }))
        .status,
    ).toBe(200);
    const refused = await call('POST', `/v1/plan/${planId}/deploy`);
    expect(refused.status).toBe(400);
    expect((refused.json as { errors: { path: string }[] }).errors.map((error) => error.path).sort()).toEqual([
      '/components/0/db/version',
      '/components/0/hardware/storage/sizeGiB',
    ]);
    expect((await deployment(planId)).status).toBe('running');
    expect((await call('PUT', `/v1/plan/${planId}`, { body: planBody('orders', { maxConnections: 60 }, { storage: { sizeGiB: 30 } }) })).status).toBe(
      200,
    );
  });

  it('turns red when the server dies, and green again after a re-deploy', async () => {
    const pidFile = join(cloud.home, 'instances', planId, 'db-0', 'data', 'postmaster.pid');
    const pid = Number(spawnSync('head', ['-1', pidFile], { encoding: 'utf8' }).stdout.trim());
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const red = await waitFor(planId, (current) => current.status === 'failed', 30_000);
    expect(red.reason).toMatch(/db-0/);
    expect(red.nodes?.find((node) => node.name === 'db-0')).toMatchObject({ healthy: false });
    const listed = ((await call('GET', '/v1/plan')).json as { items: { id: string; status: string; statusReason?: string }[] }).items.find(
      (plan) => plan.id === planId,
    );
    expect(listed?.status).toBe('failed');
    expect(listed?.statusReason).toMatch(/db-0/);
    const green = await deploy(planId, 'update');
    expect(green.status, JSON.stringify(green)).toBe('running');
    expect(psql(await credentials(planId), 'SELECT count(*) FROM orders').out).toBe('500');
  });

  it('tears everything down on delete, then the plan is gone', async () => {
    const port = creds.port;
    expect(await listening(port)).toBe(true);
    const deleted = await call('DELETE', `/v1/plan/${planId}`);
    expect(deleted.status).toBe(202);
    const deadline = Date.now() + 60_000;
    while ((await call('GET', `/v1/plan/${planId}`)).status !== 404) {
      if (Date.now() > deadline) throw new Error('the plan was not deleted');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await listening(port)).toBe(false);
    expect(instanceDirs(planId)).toEqual([]);
  });
});

describe('cluster', () => {
  it("runs a primary and a streaming replica that sees the primary's writes", async () => {
    const planId = await createPlan(clusterPlan);
    const running = await deploy(planId, 'create');
    expect(running.status, JSON.stringify(running)).toBe('running');
    expect(running.nodes?.map((node) => [node.name, node.role])).toEqual([
      ['db-0', 'primary'],
      ['db-1', 'replica'],
    ]);
    const creds = await credentials(planId);
    expect(psql(creds, "CREATE TABLE t (v text); INSERT INTO t VALUES ('replicated')").ok).toBe(true);
    const replica = running.nodes!.find((node) => node.role === 'replica')!;
    const onReplica = { ...creds, port: replica.port };
    const deadline = Date.now() + 15_000;
    let seen = psql(onReplica, 'SELECT v FROM t');
    while (seen.out !== 'replicated' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = psql(onReplica, 'SELECT v FROM t');
    }
    expect(seen.out).toBe('replicated');
    expect(psql(onReplica, 'SELECT pg_is_in_recovery()').out).toBe('t');
    expect((await call('DELETE', `/v1/plan/${planId}`)).status).toBe(202);
  });
});
