import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { settled, until } from '../support/api.ts';
import type { ComponentView, Deployment } from '../support/api.ts';
import { processesWorkingIn } from '../support/processes.ts';
import { appPlan, requestLoop, SampleRepo } from '../support/sample-apps.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// An app next to its database on the local cloud, end to end over the API: a Node app built from a
// git repository with npm ci, its release command run, wired to PostgreSQL with DATABASE_URL and
// answering with rows it read over verify-full TLS through node-postgres; redeployed under load
// without one failed request; kept serving when a new version is broken; restarted when it
// crashes; rolled back; torn down without a trace.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();
const repo = new SampleRepo('node-notes');

interface NotesAnswer {
  version: string;
  notes: string[];
  tls: boolean;
}

const appOf = (deployment: Deployment): ComponentView => {
  const app = deployment.components?.find((component) => component.id === 'web');
  if (!app) throw new Error(`no app in ${JSON.stringify(deployment)}`);
  return app;
};

async function answer(url: string): Promise<NotesAnswer> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return (await response.json()) as NotesAnswer;
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

describe('a Node app beside its database', () => {
  let planId: string;
  let url: string;
  let v1: string;
  let v2: string;

  beforeAll(async () => {
    planId = await cloud.api.createPlan(appPlan('notes', repo, { run: { releaseCommand: 'node migrate.js' } }));
  });
  afterAll(() => repo.remove());

  it('builds the repository, runs the release command and serves rows it reads over verify-full TLS', async () => {
    v1 = repo.head;
    const before = await cloud.api.deployment(planId);
    expect(before.components).toEqual([
      { id: 'db', type: 'postgres', status: 'not_deployed' },
      { id: 'web', type: 'app', status: 'not_deployed', branch: 'main', database: 'db' },
    ]);

    const { mode, deployment } = await cloud.api.deploy(planId);

    expect(mode).toBe('create');
    expect(deployment.status, deployment.reason).toBe('running');
    const app = appOf(deployment);
    expect(app).toMatchObject({ type: 'app', status: 'running', servingVersion: v1, database: 'db' });
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    url = app.url ?? '';
    expect(await answer(url)).toEqual({ version: 'v1', notes: ['hello from the database'], tls: true });
    // The database's own steps ran before the app's.
    const names = deployment.steps.map((step) => step.name);
    expect(names.indexOf('BuildApp (web)')).toBeGreaterThan(names.indexOf('Verify (db)'));
  });

  it('shows the build, release and run logs, and refuses a bad tail; the database answers its own log', async () => {
    const logs = await cloud.api.call<{ lines: { source: string; text: string; time: string }[] }>(
      'GET',
      `/v1/plan/${planId}/components/web/logs?tail=500`,
    );

    expect(logs.status).toBe(200);
    const text = (source: string) => logs.json.lines.filter((line) => line.source === source).map((line) => line.text);
    expect(text('build')).toEqual(expect.arrayContaining(['$ npm ci', 'install: npm ci (package-lock.json)']));
    expect(text('release')).toContain('migrated');
    expect(text('run').some((line) => line.startsWith('notes v1 listening on'))).toBe(true);
    expect(await cloud.api.call('GET', `/v1/plan/${planId}/components/web/logs?tail=0`)).toMatchObject({
      status: 400,
      json: { errors: [{ path: '?tail', message: 'must be a whole number from 1 to 2000' }] },
    });
    // The database beside it answers its PostgreSQL log instead.
    expect(await cloud.api.call('GET', `/v1/plan/${planId}/components/db/logs?tail=5`)).toMatchObject({
      status: 200,
      json: { component: 'db', nodes: ['db-0'], entries: expect.any(Array) as unknown[] },
    });
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/components/nope/logs`)).status).toBe(404);
    expect((await cloud.other.api.call('GET', `/v1/plan/${planId}/components/web/logs`)).status).toBe(404);
  });

  it('redeploys v1 → v2 under a request loop without one failed request', async () => {
    v2 = repo.change('server.js', (text) => text.replace("const VERSION = 'v1';", "const VERSION = 'v2';"), 'v2');
    const loop = requestLoop(url, { read: (body) => (JSON.parse(body) as NotesAnswer).version });

    const { mode, deployment } = await cloud.api.deploy(planId);
    const result = await loop.stop();

    expect(mode).toBe('update');
    expect(deployment.status, deployment.reason).toBe('running');
    expect(result.failures).toEqual([]);
    expect(result.requests).toBeGreaterThan(50);
    expect([...result.bodies].sort()).toEqual(['v1', 'v2']);
    expect(appOf(deployment)).toMatchObject({ url, servingVersion: v2, previousVersion: v1 });
    expect((await answer(url)).version).toBe('v2');
  });

  it('keeps v2 serving when the new version fails its health check, and says why', async () => {
    repo.change('server.js', (text) =>
      text
        .replace("if (req.url === '/healthz') {", "if (req.url === '/healthz' && false) {")
        .replace('res.writeHead(404).end();', "res.writeHead(req.url === '/healthz' ? 500 : 404).end();"),
    );

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status).toBe('failed');
    expect(deployment.reason).toMatch(/CheckRollout: health check \/healthz answered 500.*the previous version keeps serving/);
    expect(appOf(deployment)).toMatchObject({ status: 'failed', servingVersion: v2 });
    expect(deployment.components?.find((component) => component.id === 'db')?.status).toBe('running');
    expect((await answer(url)).version).toBe('v2');
  });

  it('keeps v2 serving when the release command fails, and says why', async () => {
    repo.change('server.js', (text) => text.replace("if (req.url === '/healthz' && false) {", "if (req.url === '/healthz') {"));
    repo.change('migrate.js', (text) => `process.exit(4);\n${text}`);

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status).toBe('failed');
    expect(deployment.reason).toMatch(/release command `node migrate\.js` exited with code 4.*the previous version keeps serving/);
    expect((await answer(url)).version).toBe('v2');
  });

  it('starts the app again after it crashes', async () => {
    const runLog = async () =>
      (await cloud.api.call<{ lines: { source: string; text: string }[] }>('GET', `/v1/plan/${planId}/components/web/logs?tail=100`)).json.lines
        .filter((line) => line.source === 'run')
        .map((line) => line.text);
    const crash = await fetch(`${url}/crash`);
    expect(crash.status).toBe(202);

    const lines = await until(
      runLog,
      (text) => text.slice(text.indexOf('the app exited with code 3')).some((line) => line.startsWith('serving ')),
      20_000,
    );

    const after = lines.slice(lines.indexOf('the app exited with code 3'));
    expect(after[1]).toBe('restarting in 1 s (restart 1)');
    expect((await answer(url)).version).toBe('v2');
  });

  it('rolls back to the version before, building nothing', async () => {
    expect((await cloud.other.api.call('POST', `/v1/plan/${planId}/components/web/rollback`)).status).toBe(404);
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/components/db/rollback`)).status).toBe(400);

    const started = await cloud.api.call<{ deploymentId: string; version: string }>('POST', `/v1/plan/${planId}/components/web/rollback`);
    expect(started.status).toBe(202);
    expect(started.json.version).toBe(v1);
    const deployment = await cloud.api.waitForDeployment(planId, settled);

    expect(deployment.status, deployment.reason).toBe('running');
    expect(appOf(deployment)).toMatchObject({ servingVersion: v1, previousVersion: v2 });
    expect(deployment.steps.map((step) => step.name)).not.toContain('Verify (db)');
    expect((await answer(url)).version).toBe('v1');
  });

  it('tears the app down with the plan: no process, no port, no files left', async () => {
    const port = Number(new URL(url).port);
    const appDir = `${cloud.home}/apps/${planId}`;

    const deleted = await cloud.api.call('DELETE', `/v1/plan/${planId}`);
    expect(deleted.status).toBe(202);
    await until(
      () => cloud.api.call('GET', `/v1/plan/${planId}`).then((response) => response.status),
      (status) => status === 404,
    );

    expect(await listening(port)).toBe(false);
    expect(await processesWorkingIn(`${cloud.home}/apps`)).toEqual([]);
    expect(existsSync(appDir)).toBe(false);
  });
});
