import { afterAll, describe, expect, it, vi } from 'vitest';
import { processesWorkingIn } from '../support/processes.ts';
import { appPlan, SampleRepo } from '../support/sample-apps.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// A standard-library Python app beside its database (psycopg2 from the machine's packages, seen
// from the app's venv), and the plain reasons a version that cannot serve fails with.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();
const repo = new SampleRepo('python-notes');
afterAll(() => repo.remove());

function appOnly(name: string, run: Record<string, unknown>) {
  return {
    apiVersion: 'cs/v1',
    name,
    components: [{ id: 'web', type: 'app', source: { repoUrl: repo.path }, run, healthCheck: { path: '/healthz', startPeriodSeconds: 20 } }],
  };
}

describe('a Python app', () => {
  it('is built in a venv and serves rows it reads over verify-full TLS', async () => {
    const planId = await cloud.api.createPlan(appPlan('py-notes', repo, { run: { releaseCommand: 'python migrate.py' } }));

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status, deployment.reason).toBe('running');
    const app = deployment.components?.find((component) => component.id === 'web');
    expect(app).toMatchObject({ status: 'running', servingVersion: repo.head });
    const response = await fetch(app?.url ?? '');
    expect(await response.json()).toEqual({ runtime: 'python', notes: ['hello from python'], tls: true });
    const logs = await cloud.api.call<{ lines: { source: string; text: string }[] }>('GET', `/v1/plan/${planId}/components/web/logs`);
    expect(logs.json.lines.filter((line) => line.source === 'build').map((line) => line.text)).toEqual(
      expect.arrayContaining(['runtime: python (requirements.txt)', '$ pip install -r requirements.txt', 'start: python app.py (app.py)']),
    );
  });

  it('fails with "listening on <port>, PORT is <port>" when it ignores PORT, and leaves nothing behind', async () => {
    const planId = await cloud.api.createPlan(appOnly('wrong-port', { startCommand: 'python -m http.server 3999 --bind 127.0.0.1' }));

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status).toBe('failed');
    expect(deployment.reason).toMatch(/^CheckRollout: listening on 3999, PORT is \d+: the app must listen on the port in PORT/);
    expect(deployment.components).toEqual([expect.objectContaining({ id: 'web', status: 'failed' })]);
    // A failed create keeps nothing: the version was stopped, and the app's files are gone.
    expect(await processesWorkingIn(`${cloud.home}/apps/${planId}`)).toEqual([]);
  });

  it('fails with its exit code and last output when it exits before it is healthy', async () => {
    const planId = await cloud.api.createPlan(appOnly('exits', { startCommand: 'python -c \'import sys; print("no config"); sys.exit(1)\'' }));

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status).toBe('failed');
    expect(deployment.reason).toMatch(/^CheckRollout: the app exited with code 1 before it was healthy; last output: .*no config/);
  });

  it('passes the values of its secrets, which are set apart from the plan and never shown', async () => {
    const planId = await cloud.api.createPlan({
      apiVersion: 'cs/v1',
      name: 'with-secret',
      components: [{ id: 'web', type: 'app', source: { repoUrl: repo.path }, secrets: ['GREETING'], healthCheck: { path: '/healthz' } }],
    });
    const put = (values: unknown, api = cloud.api) => api.call('PUT', `/v1/plan/${planId}/components/web/secrets`, { body: { values } });

    const unset = await cloud.api.deploy(planId);
    expect(unset.deployment.status).toBe('failed');
    expect(unset.deployment.reason).toBe('CheckRollout: secret GREETING has no value: set it with PUT /v1/plan/{id}/components/web/secrets');
    expect(await put({ OTHER: 'x' })).toMatchObject({
      status: 400,
      json: { errors: [{ path: '/values/OTHER', message: 'is not a secret the app declares (GREETING); add it to secrets first' }] },
    });
    expect(await put({ GREETING: '' })).toMatchObject({ status: 400, json: { errors: [{ path: '/values/GREETING' }] } });
    expect((await put({ GREETING: 'from another customer' }, cloud.other.api)).status).toBe(404);
    expect(await put({ GREETING: 'hello, secret' })).toMatchObject({ status: 200, json: { names: ['GREETING'] } });

    const { deployment } = await cloud.api.deploy(planId);

    expect(deployment.status, deployment.reason).toBe('running');
    const url = deployment.components?.find((component) => component.id === 'web')?.url ?? '';
    expect(await (await fetch(`${url}/greeting`)).text()).toBe('hello, secret');
    expect(JSON.stringify(await cloud.api.deployment(planId))).not.toContain('hello, secret');
    expect(JSON.stringify((await cloud.api.call('GET', `/v1/plan/${planId}/components/web/logs?tail=2000`)).json)).not.toContain('hello, secret');
  });

  it('fails the build with the reason when the repository holds nothing it can run', async () => {
    const empty = new SampleRepo('python-notes');
    empty.removeFiles(['app.py', 'migrate.py', 'requirements.txt']);
    const planId = await cloud.api.createPlan({
      apiVersion: 'cs/v1',
      name: 'empty',
      components: [{ id: 'web', type: 'app', source: { repoUrl: empty.path } }],
    });

    const { deployment } = await cloud.api.deploy(planId);
    empty.remove();

    expect(deployment.status).toBe('failed');
    expect(deployment.reason).toBe(
      'CheckBuild: no package.json, requirements.txt, pyproject.toml or Pipfile in the repository root; set build.runtime and run.startCommand',
    );
  });
});
