import { CognitoIdentityProviderClient, CreateUserPoolClientCommand, InitiateAuthCommand } from '@aws-sdk/client-cognito-identity-provider';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '@cloudseed/functions/routes';
import { validatePlan } from '@cloudseed/shared';
import type { CallOptions } from '../support/api.ts';
import { planWith, shorthandPlan } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';
import { signUp } from '../support/users.ts';
import type { SignedUpUser } from '../support/users.ts';
import { installationSigningKey } from '../support/jwt.ts';
import { decodePayload, signJwt, strangerPrivateKey, tamper } from './tokens.ts';

const planBody = planWith({ db: { version: '15', maxConnections: 120 }, network: { allowedCidrs: ['203.0.113.0/24'] } });
const shorthandBody = shorthandPlan;

interface PlanResource {
  id: string;
  version: number;
  createdAt: string;
  updatedAt: string;
  status: string;
  spec: { name: string; target: unknown; components: { hardware: Record<string, unknown>; db: Record<string, unknown> }[] };
}
interface Backup {
  backupId: string;
  component: string;
  status: string;
}
interface Deployment {
  status: string;
  endpoint?: { host: string; port: number; database: string; username: string };
  backup?: { lastBackup?: Backup };
}
interface Problem {
  type: string;
  status: number;
  title: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

const cloud = useLocalCloud();
let alice: SignedUpUser;
let bob: SignedUpUser;

beforeAll(() => {
  [alice, bob] = [cloud.user, cloud.other.user];
});

const call = (method: string, path: string, options: CallOptions = {}) => cloud.api.call(method, path, options);

async function createPlan(token: string = alice.accessToken, body: unknown = planBody): Promise<PlanResource> {
  const response = await call('POST', '/v1/plan', { token, body });
  expect(response.status).toBe(201);
  return response.json as PlanResource;
}

async function allPlanIds(token: string): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const response = await call('GET', `/v1/plan?limit=100${nextToken ? `&nextToken=${nextToken}` : ''}`, { token });
    const page = response.json as { items: PlanResource[]; nextToken?: string };
    ids.push(...page.items.map((plan) => plan.id));
    nextToken = page.nextToken;
  } while (nextToken);
  return ids;
}

describe('plans CRUD', () => {
  it('creates, reads, lists, updates and deletes a plan', async () => {
    const created = await call('POST', '/v1/plan', { body: planBody });
    expect(created.status).toBe(201);
    const plan = created.json as PlanResource;
    expect(plan).toMatchObject({ version: 1, status: 'not_deployed', spec: { apiVersion: 'cs/v1', name: 'orders', target: { cloud: 'local' } } });
    expect(plan.spec.components[0]!.db).toMatchObject({ version: '15', maxConnections: 120, workload: 'web' });
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`/v1/plan/${plan.id}`);

    const read = await call('GET', `/v1/plan/${plan.id}`);
    expect(read.status).toBe(200);
    expect(read.json).toEqual(plan);
    expect(read.headers.get('etag')).toBe('"1"');

    expect(await allPlanIds(alice.accessToken)).toContain(plan.id);

    const renamed = { ...planBody, name: 'orders-eu' };
    const updated = await call('PUT', `/v1/plan/${plan.id}`, { body: renamed, headers: { 'if-match': '"1"' } });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ id: plan.id, version: 2, createdAt: plan.createdAt, spec: { name: 'orders-eu' } });
    expect(updated.headers.get('etag')).toBe('"2"');

    const deleted = await call('DELETE', `/v1/plan/${plan.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call('GET', `/v1/plan/${plan.id}`)).status).toBe(404);
    expect(await allPlanIds(alice.accessToken)).not.toContain(plan.id);
  });

  it("accepts the original spec's shorthand body", async () => {
    const plan = await createPlan(alice.accessToken, shorthandBody);
    expect(plan.spec.name).toBe('postgres-15');
    expect(plan.spec.target).toEqual({ cloud: 'local' });
    expect(plan.spec.components[0]!.hardware).toEqual({
      cpus: 2,
      memoryGiB: 4,
      storage: { type: 'ssd', sizeGiB: 20 },
      aws: { instanceType: 't3.medium' },
    });
    expect(plan.spec.components[0]!.db).toMatchObject({ version: '15', backup: { enabled: true } });
  });

  it('accepts trailing slashes', async () => {
    const plan = await createPlan();
    expect((await call('GET', `/v1/plan/${plan.id}/`)).status).toBe(200);
    expect((await call('GET', '/v1/plan/')).status).toBe(200);
  });

  it('pages through a long list with an opaque nextToken', async () => {
    const carol = await signUp(cloud.config);
    const created = await Promise.all(Array.from({ length: 5 }, () => createPlan(carol.accessToken)));
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const response = await call('GET', `/v1/plan?limit=2${nextToken ? `&nextToken=${encodeURIComponent(nextToken)}` : ''}`, {
        token: carol.accessToken,
      });
      expect(response.status).toBe(200);
      const page = response.json as { items: PlanResource[]; nextToken?: string };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((plan) => plan.id));
      nextToken = page.nextToken;
      pages++;
    } while (nextToken && pages < 10);
    expect(seen.sort()).toEqual(created.map((plan) => plan.id).sort());
    expect(pages).toBe(3);
  });

  it.each([
    ['limit=0', '?limit'],
    ['limit=101', '?limit'],
    ['limit=ten', '?limit'],
    ['nextToken=not-a-token', '?nextToken'],
    [`nextToken=${Buffer.from(JSON.stringify({ after: '../../etc' })).toString('base64url')}`, '?nextToken'],
  ])('refuses the list query %s with 400', async (query, path) => {
    const response = await call('GET', `/v1/plan?${query}`);
    expect(response.status).toBe(400);
    expect((response.json as Problem).errors).toEqual([expect.objectContaining({ path })]);
  });

  it('answers 404 for ids that do not exist or are not ids at all', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', '..%2F..%2Fetc']) {
      const response = await call('GET', `/v1/plan/${id}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});

describe('authentication', () => {
  const routes: [string, (id: string) => string, unknown?][] = [
    ['POST', () => '/v1/plan', planBody],
    ['GET', () => '/v1/plan'],
    ['GET', (id) => `/v1/plan/${id}`],
    ['PUT', (id) => `/v1/plan/${id}`, planBody],
    ['DELETE', (id) => `/v1/plan/${id}`],
  ];

  async function badTokens(): Promise<[string, string | null, Record<string, string>?][]> {
    const claims = decodePayload(alice.accessToken);
    const otherClient = await new CognitoIdentityProviderClient({
      endpoint: cloud.config.cognitoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }).send(
      new CreateUserPoolClientCommand({
        UserPoolId: cloud.config.userPoolId,
        ClientName: 'another-app',
        ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      }),
    );
    const otherAuth = await new CognitoIdentityProviderClient({
      endpoint: cloud.config.cognitoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }).send(
      new InitiateAuthCommand({
        AuthFlow: 'USER_PASSWORD_AUTH',
        ClientId: otherClient.UserPoolClient!.ClientId!,
        AuthParameters: { USERNAME: alice.email, PASSWORD: alice.password },
      }),
    );
    const now = Math.floor(Date.now() / 1000);
    // Signed with the key this installation really signs with, so that each fails on its claim alone.
    const installationKey = await installationSigningKey(cloud.home);
    return [
      ['no Authorization header', null],
      ['a malformed header', 'x', { authorization: 'Bearer not-a-jwt' }],
      ['a Basic header', 'x', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ["a stranger's signature", signJwt(claims, strangerPrivateKey)],
      ['alg none', signJwt(claims, 'none')],
      ['an expired token', signJwt({ ...claims, iat: now - 7200, exp: now - 3600 }, installationKey)],
      ['tampered claims', tamper(alice.accessToken, { sub: bob.sub })],
      ['a token of another app client', otherAuth.AuthenticationResult!.AccessToken!],
      ['an id token', alice.idToken],
      ['another issuer', signJwt({ ...claims, iss: 'http://127.0.0.1:1/other-pool' }, installationKey)],
    ];
  }

  it('answers every failure with the same 401 that reveals nothing, on every route', async () => {
    const plan = await createPlan();
    const cases = await badTokens();
    for (const [label, token, headers] of cases) {
      for (const [method, path, body] of routes) {
        const response = await call(method, path(plan.id), {
          token: headers ? null : token,
          ...(headers ? { headers } : {}),
          ...(body === undefined ? {} : { body }),
        });
        expect(response.status, `${label}: ${method} ${path(plan.id)}`).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
        expect(response.json).toEqual({ type: 'about:blank', status: 401, title: 'Unauthorized', detail: 'A valid access token is required.' });
      }
    }
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toEqual(plan);
  });

  it('lets health, openapi, docs and config through without a token', async () => {
    for (const path of ['/v1/health', '/v1/openapi.json', '/v1/docs', '/config.json']) {
      expect((await call('GET', path, { token: null })).status, path).toBe(200);
    }
  });
});

describe('tenancy', () => {
  it("hides one customer's plans from another on every route: 404, never 403, and nothing changes", async () => {
    const plan = await createPlan();
    for (const [method, body] of [['GET'], ['PUT', planBody], ['DELETE']] as const) {
      const response = await call(method, `/v1/plan/${plan.id}`, { token: bob.accessToken, ...(body ? { body } : {}) });
      expect(response.status, method).toBe(404);
    }
    expect(await allPlanIds(bob.accessToken)).not.toContain(plan.id);
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toEqual(plan);
  });
});

describe('optimistic concurrency', () => {
  it('refuses a stale If-Match with 412 and keeps the plan', async () => {
    const plan = await createPlan();
    expect((await call('PUT', `/v1/plan/${plan.id}`, { body: { ...planBody, name: 'v2' }, headers: { 'if-match': '"1"' } })).status).toBe(200);
    const stale = await call('PUT', `/v1/plan/${plan.id}`, { body: { ...planBody, name: 'stale' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toBe('application/problem+json');
    const garbage = await call('PUT', `/v1/plan/${plan.id}`, { body: { ...planBody, name: 'garbage' }, headers: { 'if-match': 'whatever' } });
    expect(garbage.status).toBe(412);
    expect((await call('DELETE', `/v1/plan/${plan.id}`, { headers: { 'if-match': '"1"' } })).status).toBe(412);
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toMatchObject({ version: 2, spec: { name: 'v2' } });
  });

  it('lets exactly one of N concurrent updates of the same version win', async () => {
    const plan = await createPlan();
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        call('PUT', `/v1/plan/${plan.id}`, { body: { ...planBody, name: `writer-${index}` }, headers: { 'if-match': '"1"' } }),
      ),
    );
    const statuses = attempts.map((attempt) => attempt.status).sort();
    expect(statuses).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const winner = attempts.find((attempt) => attempt.status === 200)!.json as PlanResource;
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toMatchObject({ version: 2, spec: { name: winner.spec.name } });
  });

  it('never loses an update when N clients write without If-Match: each either lands or is told to retry', async () => {
    const plan = await createPlan();
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, index) => call('PUT', `/v1/plan/${plan.id}`, { body: { ...planBody, name: `blind-${index}` } })),
    );
    const landed = attempts.filter((attempt) => attempt.status === 200).length;
    expect(attempts.every((attempt) => attempt.status === 200 || attempt.status === 412)).toBe(true);
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toMatchObject({ version: 1 + landed });
  });
});

describe('bad input', () => {
  const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
  const cases: [string, { raw?: string; body?: unknown; headers?: Record<string, string> }, number, string?][] = [
    ['malformed JSON', { raw: '{"apiVersion": "cs/v1",', headers: { 'content-type': 'application/json' } }, 400, '/'],
    ['an empty body', { raw: '', headers: { 'content-type': 'application/json' } }, 400, '/'],
    ['the wrong content type', { raw: JSON.stringify(planBody), headers: { 'content-type': 'text/plain' } }, 415],
    ['no content type', { raw: JSON.stringify(planBody) }, 415],
    ['an oversize body', { body: { ...planBody, padding: 'x'.repeat(70_000) } }, 413],
    ['deep nesting', { raw: `{"apiVersion":"cs/v1","name":"x","components":${deep}}`, headers: { 'content-type': 'application/json' } }, 400, '/'],
    ['a wrong type', { body: { ...planBody, components: 'db' } }, 400, '/components'],
    [
      'an out-of-range value',
      { body: { ...planBody, components: [{ id: 'db', type: 'postgres', hardware: { storage: { sizeGiB: 99_999 } } }] } },
      400,
      '/components/0/hardware/storage/sizeGiB',
    ],
    ['an unknown field', { body: { ...planBody, owner: 'someone-else' } }, 400, '/owner'],
    [
      'a prototype-pollution key',
      {
        raw: '{"apiVersion":"cs/v1","name":"x","components":[{"id":"db","type":"postgres"}],"__proto__":{"admin":true}}',
        headers: { 'content-type': 'application/json' },
      },
      400,
      '/__proto__',
    ],
    ['shell injection in the name', { body: { ...planBody, name: 'x; rm -rf /' } }, 400, '/name'],
    [
      'pg_hba injection in a CIDR',
      {
        body: { ...planBody, components: [{ id: 'db', type: 'postgres', network: { allowedCidrs: ['10.0.0.0/8\nhost all all 0.0.0.0/0 trust'] } }] },
      },
      400,
      '/components/0/network/allowedCidrs/0',
    ],
    ['a JSON array', { body: [planBody] }, 400, '/'],
    [
      'a shorthand with an unknown instance type',
      { body: { ...shorthandBody, hardware: { instance_type: 'z9.huge', storage: 'ssd' } } },
      400,
      '/hardware/instance_type',
    ],
  ];

  it.each(cases)('answers %s with a %i problem naming the field, and stores nothing', async (_label, request, status, path) => {
    const before = await allPlanIds(alice.accessToken);
    const response = await call('POST', '/v1/plan', request);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = response.json as Problem;
    expect(problem).toMatchObject({ type: 'about:blank', status });
    expect(problem.detail.length).toBeGreaterThan(0);
    expect(path === undefined || (problem.errors ?? []).some((error) => error.path === path), JSON.stringify(problem.errors)).toBe(true);
    expect(await allPlanIds(alice.accessToken)).toEqual(before);
  });

  it.each(cases)('answers a PUT with %s with %i and leaves the plan untouched', async (_label, request, status) => {
    const plan = await createPlan();
    const response = await call('PUT', `/v1/plan/${plan.id}`, request);
    expect(response.status).toBe(status);
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toEqual(plan);
  });

  it('never answers 5xx and never stores an invalid plan, whatever the body (fuzz)', async () => {
    const plan = await createPlan();
    const field = fc.oneof(fc.jsonValue(), fc.constant(undefined));
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({
        apiVersion: fc.oneof(fc.constant('cs/v1'), fc.string()),
        name: fc.oneof(fc.constant('fuzz'), fc.string()),
        components: fc.oneof(
          fc.array(
            fc.record({
              id: fc.oneof(fc.constant('db'), fc.string()),
              type: fc.constant('postgres'),
              hardware: field,
              db: field,
              network: field,
              os: field,
            }),
            { maxLength: 3 },
          ),
          fc.jsonValue(),
        ),
        target: field,
      }),
      fc.record({ os: fc.oneof(fc.constant('linux'), fc.string()), hardware: field, db: field }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (candidate) => {
        const created = await call('POST', '/v1/plan', { raw: JSON.stringify(candidate) ?? 'null', headers: { 'content-type': 'application/json' } });
        const replaced = await call('PUT', `/v1/plan/${plan.id}`, {
          raw: JSON.stringify(candidate) ?? 'null',
          headers: { 'content-type': 'application/json' },
        });
        for (const response of [created, replaced]) {
          if (response.status >= 500) return false;
          if (response.status === 200 || response.status === 201) {
            const stored = (await call('GET', `/v1/plan/${(response.json as PlanResource).id}`)).json as PlanResource;
            if (!validatePlan(stored.spec).ok) return false;
          }
        }
        return true;
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});

describe('components addressed by id', () => {
  const twoDatabases = {
    apiVersion: 'cs/v1',
    name: 'two-databases',
    components: ['orders', 'analytics'].map((id, index) => ({
      id,
      type: 'postgres',
      position: { x: 40 + index * 300, y: 40 },
      hardware: { memoryGiB: 1 },
      db: { version: '15', maxConnections: 30, databaseName: id, backup: { validate: false } },
    })),
  };

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 150_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let value = await read();
    while (!done(value)) {
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
      value = await read();
    }
    return value;
  }

  function expectUnknownComponent(response: Awaited<ReturnType<typeof call>>, has: string): void {
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect((response.json as Problem).errors).toEqual([{ path: '?component', message: `names no database component of this plan; it has ${has}` }]);
  }

  it('refuses a component id the plan does not have on every database route, with the field, and changes nothing', async () => {
    const plan = await createPlan();

    expectUnknownComponent(await call('GET', `/v1/plan/${plan.id}/deployment?component=nope`), 'db');
    expectUnknownComponent(await call('GET', `/v1/plan/${plan.id}/deployment/credentials?component=nope`), 'db');
    expectUnknownComponent(await call('POST', `/v1/plan/${plan.id}/backups?component=nope`), 'db');

    expect((await call('GET', `/v1/plan/${plan.id}/deployment?component=db`)).json).toEqual({
      status: 'not_deployed',
      steps: [],
      components: [{ id: 'db', type: 'postgres', status: 'not_deployed' }],
    });
    expect((await call('GET', `/v1/plan/${plan.id}/deployment/credentials?component=db`)).status).toBe(409);
    expect((await call('GET', `/v1/plan/${plan.id}/backups`)).json).toEqual({ items: [] });
    expect((await call('GET', `/v1/plan/${plan.id}`)).json).toEqual(plan);
  });

  it('reports, hands out credentials for and backs up the database ?component names, the first one without it', async () => {
    const plan = await createPlan(alice.accessToken, twoDatabases);
    expect((await call('POST', `/v1/plan/${plan.id}/deploy`)).status).toBe(202);
    const deployment = (query = '') => call('GET', `/v1/plan/${plan.id}/deployment${query}`).then((response) => response.json as Deployment);
    const running = await until(deployment, (value) => value.status !== 'deploying');
    expect(running.status).toBe('running');

    const analytics = await deployment('?component=analytics');
    expect(running.endpoint).toMatchObject({ database: 'orders', username: 'app' });
    expect(analytics.endpoint).toMatchObject({ database: 'analytics', username: 'app' });
    expect(analytics.endpoint!.port).not.toBe(running.endpoint!.port);
    expect(await deployment('?component=orders')).toMatchObject({ endpoint: running.endpoint });

    const credentials = await call('GET', `/v1/plan/${plan.id}/deployment/credentials?component=analytics`);
    expect(credentials.status).toBe(200);
    expect(credentials.json).toMatchObject({
      ...analytics.endpoint,
      uri: expect.stringContaining(`:${analytics.endpoint!.port}/analytics?`) as unknown,
    });

    const started = await call('POST', `/v1/plan/${plan.id}/backups?component=analytics`);
    expect(started.status).toBe(202);
    const { backupId } = started.json as { backupId: string };
    const backups = () => call('GET', `/v1/plan/${plan.id}/backups`).then((response) => (response.json as { items: Backup[] }).items);
    const finished = await until(backups, (items) => items.some((item) => item.backupId === backupId && item.status !== 'running'));
    expect(finished).toEqual([expect.objectContaining({ backupId, component: 'analytics', status: 'succeeded' })]);
    expect((await deployment('?component=analytics')).backup?.lastBackup).toMatchObject({ backupId, component: 'analytics' });
    expect((await deployment()).backup).not.toHaveProperty('lastBackup');

    expectUnknownComponent(await call('POST', `/v1/plan/${plan.id}/backups?component=billing`), 'orders, analytics');
    expect((await backups()).map((item) => item.backupId)).toEqual([backupId]);

    expect((await call('DELETE', `/v1/plan/${plan.id}`)).status).toBe(202);
  }, 300_000);
});

describe('API documents', () => {
  it('serves an OpenAPI 3.1 document generated from the plan schema', async () => {
    const document = (await call('GET', '/v1/openapi.json', { token: null })).json as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/plan', '/v1/plan/{id}', '/v1/health']));
    expect(Object.keys(document.components.schemas.PlanInput!.properties!)).toEqual(['apiVersion', 'name', 'target', 'components']);
    for (const route of routes) {
      const operations = document.paths[route.path] as Record<string, unknown> | undefined;
      expect(operations?.[route.method.toLowerCase()], `${route.method} ${route.path} is documented`).toBeDefined();
    }
    interface Parameter {
      name: string;
      in: string;
    }
    type PathItem = { parameters?: Parameter[] } & Record<
      'get' | 'post',
      { parameters?: Parameter[]; responses: Record<string, unknown> } | undefined
    >;
    for (const [path, method] of [
      ['/v1/plan/{id}/deployment', 'get'],
      ['/v1/plan/{id}/deployment/credentials', 'get'],
      ['/v1/plan/{id}/backups', 'post'],
    ] as const) {
      const item = document.paths[path] as PathItem;
      const parameters = [...(item.parameters ?? []), ...(item[method]?.parameters ?? [])];
      expect(parameters, `${method} ${path} takes ?component`).toContainEqual({
        name: 'component',
        in: 'query',
        required: false,
        description: expect.any(String) as unknown,
        schema: { type: 'string' },
      });
      expect(item[method]?.responses[400], `${method} ${path} documents the 400`).toBeDefined();
    }
  });

  it('serves a docs page whose assets come from this server', async () => {
    const page = await call('GET', '/v1/docs', { token: null });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect(asset.startsWith('/')).toBe(true);
      expect((await call('GET', asset, { token: null })).status, asset).toBe(200);
    }
  });
});
