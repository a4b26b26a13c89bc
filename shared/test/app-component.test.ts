import { describe, expect, it } from 'vitest';
import { databaseEnvironment as databaseEnvironmentFor } from '../src/apps/wiring.ts';
import { appComponents, redeployProblems, validatePlan } from '../src/index.ts';

// The `app` component of cs-json: what it fills in, and every way it is refused, each with the
// field and the reason.

const db = { id: 'db', type: 'postgres' };
const app = (fields: Record<string, unknown> = {}) => ({
  id: 'web',
  type: 'app',
  source: { repoUrl: 'https://github.com/acme/notes.git' },
  ...fields,
});
const plan = (components: unknown[], target: unknown = { cloud: 'local' }) => ({ apiVersion: 'cs/v1', name: 'notes', target, components });

function errorsOf(input: unknown) {
  const result = validatePlan(input);
  if (result.ok) throw new Error('expected the plan to be refused');
  return result.errors;
}

describe('the app component', () => {
  it('fills in what a plan leaves out', () => {
    const result = validatePlan(plan([db, app({ database: { component: 'db' } })]));

    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(appComponents(result.plan)).toEqual([
      {
        id: 'web',
        type: 'app',
        position: { x: 80, y: 80 },
        source: { repoUrl: 'https://github.com/acme/notes.git', branch: 'main', rootDir: '' },
        build: {},
        run: { port: 8080 },
        healthCheck: { path: '/', startPeriodSeconds: 30, intervalSeconds: 5, timeoutSeconds: 2 },
        env: {},
        secrets: [],
        instances: { count: 1, cpu: 256, memoryMiB: 512 },
        database: { component: 'db' },
      },
    ]);
  });

  it('takes a repository on this machine only for the local target', () => {
    expect(validatePlan(plan([app({ source: { repoUrl: '/srv/git/notes' } })])).ok).toBe(true);
    expect(validatePlan(plan([app({ source: { repoUrl: 'file:///srv/git/notes' } })])).ok).toBe(true);

    expect(errorsOf(plan([app({ source: { repoUrl: 'file:///srv/git/notes' } })], { cloud: 'aws', region: 'eu-west-1', accountId: 'a-1' }))).toEqual([
      {
        path: '/components/0/source/repoUrl',
        message: 'a repository on this machine can only be deployed to the local target; aws builds clone an https:// URL',
      },
    ]);
  });

  it.each([
    ['https://user:token@github.com/acme/notes.git', 'must not carry credentials; give the repository read access instead'],
    ['http://github.com/acme/notes.git', 'must use https:// (http is not offered)'],
    ['git@github.com:acme/notes.git', 'must be an https:// URL of a git repository (or, on the local target, a file:// URL or an absolute path)'],
    ['https://github.com/acme/notes.git?ref=main', 'must not carry a query or a fragment'],
    ['/srv/../etc', 'must not contain .. segments'],
  ])('refuses the repository URL %s', (repoUrl, message) => {
    expect(errorsOf(plan([app({ source: { repoUrl } })]))).toEqual([{ path: '/components/0/source/repoUrl', message }]);
  });

  it('names every bad field at once', () => {
    const errors = errorsOf(
      plan([
        app({
          source: { repoUrl: 'https://github.com/acme/notes.git', branch: 'feature..x', commit: 'XYZ', rootDir: '../up' },
          run: { port: 80 },
          healthCheck: { path: 'healthz', intervalSeconds: 5, timeoutSeconds: 5 },
          env: { PORT: '1', PGHOST: 'x', 'not-a-name': 'x', GOOD: 'ok' },
          secrets: ['API_KEY', 'API_KEY'],
          instances: { count: 0, cpu: 300, memoryMiB: 512 },
        }),
      ]),
    );

    expect(errors).toEqual(
      expect.arrayContaining([
        { path: '/components/0/source/branch', message: 'must be a git branch name such as main' },
        { path: '/components/0/source/commit', message: 'must be a commit id: 7 to 40 lower-case hex digits' },
        { path: '/components/0/source/rootDir', message: 'must not contain . or .. segments' },
        { path: '/components/0/run/port', message: 'Too small: expected number to be >=1024' },
        { path: '/components/0/healthCheck/path', message: 'must be a path such as /healthz' },
        { path: '/components/0/healthCheck/timeoutSeconds', message: 'must be shorter than intervalSeconds' },
        { path: '/components/0/env/PORT', message: 'PORT is set by CloudSeed' },
        { path: '/components/0/env/PGHOST', message: 'names starting with PG are set by CloudSeed or the runtime' },
        { path: '/components/0/env/not-a-name', message: 'must be a variable name: letters, digits and underscores, not starting with a digit' },
        { path: '/components/0/secrets', message: 'must not repeat a name' },
        { path: '/components/0/instances/count', message: 'Too small: expected number to be >=1' },
        { path: '/components/0/instances/cpu', message: 'must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (Fargate CPU units)' },
      ]),
    );
    expect(errors).toHaveLength(12);
  });

  it('takes only Fargate CPU and memory pairs', () => {
    expect(validatePlan(plan([app({ instances: { cpu: 1024, memoryMiB: 3072 } })])).ok).toBe(true);

    expect(errorsOf(plan([app({ instances: { cpu: 256, memoryMiB: 4096 } })]))).toEqual([
      { path: '/components/0/instances/memoryMiB', message: '256 CPU units take 512 to 2048 MiB in steps Fargate offers (512, 1024, 2048…)' },
    ]);
  });

  it('links only to a postgres component of the same plan', () => {
    expect(errorsOf(plan([db, app({ database: { component: 'nope' } })]))).toEqual([
      { path: '/components/1/database/component', message: 'names no component of this plan; its databases are db' },
    ]);
    expect(errorsOf(plan([db, app({ database: { component: 'other' } }), { ...app(), id: 'other' }]))).toEqual([
      { path: '/components/1/database/component', message: 'other is an app, not a postgres database' },
    ]);
  });

  it('refuses a secret that is also a plain variable', () => {
    expect(errorsOf(plan([app({ env: { API_KEY: 'x' }, secrets: ['API_KEY'] })]))).toEqual([
      { path: '/components/0/secrets', message: 'API_KEY is also a plain variable in env; name it once' },
    ]);
  });

  it('cannot turn a running app into a database by a re-deploy', () => {
    const running = validatePlan(plan([db, app()]));
    const next = validatePlan(plan([db, { id: 'web', type: 'postgres' }]));
    if (!running.ok || !next.ok) throw new Error('invalid test plans');

    expect(redeployProblems(running.plan, next.plan)).toEqual([
      { path: '/components/1/type', message: 'web runs as app; remove it and add a new component instead' },
    ]);
  });
});

describe('the link to a database, as variables', () => {
  const link = { database: 'app', username: 'app', password: 'p@ss word/1', hosts: [{ host: '127.0.0.1', port: 5433 }] };

  it('gives DATABASE_URL with verify-full and the CA file, and the PG* variables', () => {
    expect(databaseEnvironmentFor(link, '/srv/ca.crt')).toEqual({
      DATABASE_URL: 'postgresql://app:p%40ss%20word%2F1@127.0.0.1:5433/app?sslmode=verify-full&sslrootcert=%2Fsrv%2Fca.crt',
      PGHOST: '127.0.0.1',
      PGPORT: '5433',
      PGDATABASE: 'app',
      PGUSER: 'app',
      PGPASSWORD: 'p@ss word/1',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/srv/ca.crt',
    });
  });

  it('names the primary in DATABASE_URL and every member in PGHOST for a cluster', () => {
    const env = databaseEnvironmentFor({ ...link, hosts: [link.hosts[0]!, { host: '127.0.0.2', port: 5434 }] }, '/srv/ca.crt');

    expect(env.DATABASE_URL).toContain('@127.0.0.1:5433/app?');
    expect(env).toMatchObject({ PGHOST: '127.0.0.1,127.0.0.2', PGPORT: '5433,5434', PGTARGETSESSIONATTRS: 'read-write' });
  });
});
