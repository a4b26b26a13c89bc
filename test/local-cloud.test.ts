import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import dynalite from 'dynalite';
import { DynamoDBClient, GetItemCommand, PutItemCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createHttpAdapter, MAX_BODY_BYTES } from '../infra/local/http-adapter.ts';
import type { HttpAdapter, LoadedRoute, PublicConfig } from '../infra/local/http-adapter.ts';
import { docsAssets } from '../infra/local/docs-assets.ts';
import { webApp } from '../infra/local/web-app.ts';
import { startLambdaInvoke } from '../infra/local/lambda-invoke.ts';
import type { LambdaInvokeServer } from '../infra/local/lambda-invoke.ts';
import { repoRoot, spawnLocalCloud, startLocalCloud as startWithAllRoutes, temporaryHome } from './support/local-cloud.ts';
import type { LocalCloud, StartOptions } from './support/local-cloud.ts';
import { decodeJwt, verifyJwt } from './support/jwt.ts';
import { processesWorkingIn } from './support/processes.ts';
import { rawRequest } from './support/raw-http.ts';
import { logIn, signUp } from './support/users.ts';

const PROBLEM_JSON = 'application/problem+json';

// Until the local cloud runs the workflows, the routes that start them cannot load: see the table.
const startLocalCloud = (options: StartOptions = {}) => startWithAllRoutes(options);

describe('the local cloud', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
  }, 30_000);

  afterAll(async () => {
    await cloud.stop();
  });

  it('prints one ready line, on stdout, with the URL it serves on', () => {
    const readyLines = cloud
      .stdout()
      .split('\n')
      .filter((line) => line.includes('ready'));

    expect(readyLines).toEqual([`CloudSeed local cloud ready at ${cloud.url}`]);
    expect(cloud.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
  });

  it('answers GET /v1/health', async () => {
    const response = await fetch(`${cloud.url}/v1/health`);

    expect(response.status).toBe(200);
  });

  it('serves /config.json with the pool, the client and where to reach them', async () => {
    const response = await fetch(`${cloud.url}/config.json`);
    const config = (await response.json()) as PublicConfig;
    const remembered = JSON.parse(await readFile(join(cloud.home, 'local-cloud.json'), 'utf8')) as Record<string, string>;

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(Object.keys(config).sort()).toEqual([
      'apiBase',
      'cognitoEndpoint',
      'mode',
      'postgresVersions',
      'region',
      'userPoolClientId',
      'userPoolId',
    ]);
    expect(config.postgresVersions).toContain('15');
    expect(config).toMatchObject({
      mode: 'local',
      region: 'local',
      apiBase: cloud.url,
      userPoolId: remembered.userPoolId,
      userPoolClientId: remembered.userPoolClientId,
    });
    expect(config.cognitoEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(config.cognitoEndpoint).not.toBe(cloud.url);
  });

  it('keeps its home private', async () => {
    const home = await stat(cloud.home);
    const state = await stat(join(cloud.home, 'local-cloud.json'));

    expect(home.mode & 0o777).toBe(0o700);
    expect(state.mode & 0o777).toBe(0o600);
  });

  it('answers an unknown path with a 404 problem document', async () => {
    const response = await fetch(`${cloud.url}/v1/nothing-here`);

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(await response.json()).toMatchObject({ type: 'about:blank', status: 404, title: 'Not Found' });
  });

  it('answers a known path with another method with 405 and the methods it allows', async () => {
    const response = await fetch(`${cloud.url}/v1/plan/some-id`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });

    expect(response.status).toBe(405);
    expect(response.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'GET', 'PUT']);
    expect(response.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(await response.json()).toMatchObject({ status: 405, title: 'Method Not Allowed' });
  });

  it('accepts a trailing slash on a route', async () => {
    const response = await fetch(`${cloud.url}/v1/health/`);

    expect(response.status).toBe(200);
  });

  it('refuses a body declared larger than 1 MiB with 413 before reading any of it', async () => {
    // Only the headers are sent: a server that waited for the body would never answer.
    const response = await rawRequest(
      cloud.url,
      `POST /v1/plan HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: ${2 * MAX_BODY_BYTES}`,
    );

    expect(response.status).toBe(413);
    expect(response.headers['content-type']).toBe(PROBLEM_JSON);
    expect(response.headers.connection).toBe('close');
    expect(JSON.parse(response.body.toString())).toMatchObject({ status: 413, title: 'Content Too Large' });
  });

  it('refuses a chunked body with 413 once it passes 1 MiB', async () => {
    const chunk = Buffer.alloc(256 * 1024, 'a');
    const framed = Buffer.concat([
      ...Array.from({ length: 6 }, () => [Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]).flat(),
      Buffer.from('0\r\n\r\n'),
    ]);

    const response = await rawRequest(
      cloud.url,
      'POST /v1/plan HTTP/1.1\nHost: x\nContent-Type: application/json\nTransfer-Encoding: chunked',
      framed,
    );

    expect(response.status).toBe(413);
  });

  it('confirms a sign-up at once, so the new user can log in right away', async () => {
    const user = await signUp(cloud.config);

    await expect(logIn(cloud.config, user.email, user.password)).resolves.toHaveProperty('accessToken');
  });

  it('issues access tokens for the app client, signed by the issuer the functions trust', async () => {
    const { accessToken, sub } = await signUp(cloud.config);
    const issuer = `${cloud.config.cognitoEndpoint}/${cloud.config.userPoolId}`;

    const claims = await verifyJwt(accessToken, `${issuer}/.well-known/jwks.json`);

    expect(claims).toMatchObject({ token_use: 'access', client_id: cloud.config.userPoolClientId, iss: issuer, sub });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
  });

  it('lets the handlers verify that token: a protected route answers 200 with it, 401 without', async () => {
    const { accessToken } = await signUp(cloud.config);

    const withToken = await fetch(`${cloud.url}/v1/plan`, { headers: { authorization: `Bearer ${accessToken}` } });
    const withoutToken = await fetch(`${cloud.url}/v1/plan`);

    expect(withToken.status).toBe(200);
    expect(withoutToken.status).toBe(401);
  });

  it('serves the docs assets from swagger-ui-dist with their content types', async () => {
    const script = await fetch(`${cloud.url}/docs-assets/swagger-ui-bundle.js`);
    const styles = await fetch(`${cloud.url}/docs-assets/swagger-ui.css`);
    const icon = await fetch(`${cloud.url}/docs-assets/favicon-32x32.png`);

    expect([script.status, styles.status, icon.status]).toEqual([200, 200, 200]);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(icon.headers.get('content-type')).toBe('image/png');
    expect((await script.text()).length).toBeGreaterThan(100_000);
  });

  it.each([
    '/docs-assets/../package.json',
    '/docs-assets/..%2Fpackage.json',
    '/docs-assets/%2e%2e/%2e%2e/package.json',
    '/docs-assets/index.html',
    '/docs-assets/package.json',
    '/docs-assets/swagger-ui.js.map',
    '/docs-assets/',
  ])('refuses %s', async (path) => {
    const response = await rawRequest(cloud.url, `GET ${path} HTTP/1.1\nHost: x\nConnection: close`);

    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe(PROBLEM_JSON);
  });
});

describe('the HTTP adapter', () => {
  let adapter: HttpAdapter;
  let url: string;
  let echoed: { event: APIGatewayProxyEventV2; context: Context; remainingMs: number } | undefined;

  const config: PublicConfig = {
    mode: 'local',
    region: 'local',
    userPoolId: 'pool',
    userPoolClientId: 'client',
    cognitoEndpoint: 'http://127.0.0.1:1',
    apiBase: 'http://127.0.0.1:2',
  };
  const route = (method: LoadedRoute['method'], path: string, handler: LoadedRoute['handler']): LoadedRoute => ({
    method,
    path,
    module: 'test',
    auth: false,
    functionName: 'cloudseed-test',
    handler,
  });
  const routes: LoadedRoute[] = [
    route('POST', '/v1/echo/{id}', (event, context) => {
      echoed = { event, context, remainingMs: context.getRemainingTimeInMillis() };
      return Promise.resolve({
        statusCode: 201,
        headers: { 'Content-Type': 'text/plain', 'x-count': 3 },
        cookies: ['a=1; Path=/', 'b=2'],
        body: 'made',
      });
    }),
    route('GET', '/v1/echo', () => Promise.resolve({ hello: 'world' })),
    route('GET', '/v1/echo/literal', () =>
      Promise.resolve({ statusCode: 200, body: Buffer.from([0xff, 0x00, 0x01]).toString('base64'), isBase64Encoded: true }),
    ),
    route('GET', '/v1/boom', () => Promise.reject(new Error('secret detail'))),
    route('GET', '/v1/files/{path+}', (event) => Promise.resolve({ statusCode: 200, body: event.pathParameters?.path ?? '' })),
  ];

  beforeAll(async () => {
    adapter = createHttpAdapter();
    url = `http://127.0.0.1:${await adapter.listen(0, '127.0.0.1')}`;
    adapter.serve({ routes, config, docs: await docsAssets(), web: await webApp(join(tmpdir(), 'cloudseed-no-such-build'), config.cognitoEndpoint) });
  });

  afterAll(async () => {
    await adapter.close();
  });

  it('answers 503 while the local cloud is starting', async () => {
    const starting = createHttpAdapter();
    const port = await starting.listen(0, '127.0.0.1');
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/health`);

      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe(PROBLEM_JSON);
    } finally {
      await starting.close();
    }
  });

  it('builds an API Gateway payload 2.0 event', async () => {
    const before = Date.now();

    const response = await rawRequest(
      url,
      [
        'POST /v1/echo/a%20b%2Fc/?x=1&x=2&y=%C3%A9 HTTP/1.1',
        'Host: api.example.test:8080',
        'User-Agent: raw-test/1',
        'X-Repeated: one',
        'X-Repeated: two',
        'Cookie: session=s1; theme=dark',
        'Content-Type: text/plain',
        'Content-Length: 5',
        'Connection: close',
      ].join('\n'),
      'hello',
    );

    expect(response.status).toBe(201);
    const event = echoed?.event;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v1/echo/{id}',
      rawPath: '/v1/echo/a%20b%2Fc/',
      rawQueryString: 'x=1&x=2&y=%C3%A9',
      cookies: ['session=s1', 'theme=dark'],
      queryStringParameters: { x: '1,2', y: 'é' },
      pathParameters: { id: 'a b/c' },
      body: 'hello',
      isBase64Encoded: false,
      requestContext: {
        accountId: 'local',
        apiId: 'local',
        domainName: 'api.example.test',
        domainPrefix: 'api',
        http: { method: 'POST', path: '/v1/echo/a%20b%2Fc/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'raw-test/1' },
        routeKey: 'POST /v1/echo/{id}',
        stage: '$default',
      },
    });
    expect(event?.headers).toMatchObject({
      'x-repeated': 'one,two',
      'content-type': 'text/plain',
      'user-agent': 'raw-test/1',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
    });
    expect(event?.headers).not.toHaveProperty('cookie');
    expect(Object.keys(event?.headers ?? {}).every((name) => name === name.toLowerCase())).toBe(true);
    expect(event?.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.requestContext.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(event?.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
  });

  it('gives the handler a Lambda context for the request', () => {
    expect(echoed?.context).toMatchObject({
      functionName: 'cloudseed-test',
      functionVersion: '$LATEST',
      awsRequestId: echoed?.event.requestContext.requestId,
    });
    expect(echoed?.remainingMs).toBeGreaterThan(25_000);
    expect(echoed?.remainingMs).toBeLessThanOrEqual(30_000);
  });

  it('writes back the status, headers and cookies of a structured result', async () => {
    const response = await fetch(`${url}/v1/echo/x`, { method: 'POST' });

    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('x-count')).toBe('3');
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await response.text()).toBe('made');
    expect(echoed?.event).not.toHaveProperty('body');
    expect(echoed?.event).not.toHaveProperty('queryStringParameters');
    expect(echoed?.event).not.toHaveProperty('cookies');
  });

  it('passes a body that is not UTF-8 text base64-encoded', async () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80]);

    await fetch(`${url}/v1/echo/x`, { method: 'POST', body: bytes, headers: { 'content-type': 'application/octet-stream' } });

    expect(echoed?.event).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
  });

  it('decodes a base64 result body', async () => {
    const response = await fetch(`${url}/v1/echo/literal`);

    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0xff, 0x00, 0x01]));
  });

  it('prefers a literal path segment over a parameter', async () => {
    const response = await fetch(`${url}/v1/echo/literal`, { method: 'POST' });

    expect(response.status).toBe(201);
    expect(echoed?.event.pathParameters).toEqual({ id: 'literal' });
  });

  it('matches a greedy parameter over the rest of the path', async () => {
    const response = await fetch(`${url}/v1/files/a/b%20c/d.txt`);

    expect(await response.text()).toBe('a/b c/d.txt');
  });

  it('answers a result without a status code as 200 JSON, as API Gateway does', async () => {
    const response = await fetch(`${url}/v1/echo`);

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ hello: 'world' });
  });

  it('turns a handler that throws into a 500 problem document that echoes nothing, and logs the error', async () => {
    const logged: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => logged.push(String(chunk)) > 0);
    let response: Response;
    let body: string;
    try {
      response = await fetch(`${url}/v1/boom`);
      body = await response.text();
    } finally {
      stderr.mockRestore();
    }
    const problem = JSON.parse(body) as { detail: string };
    const requestId = /Request id ([0-9a-f-]{36})/.exec(problem.detail)?.[1];

    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toBe(PROBLEM_JSON);
    expect(problem).toMatchObject({ type: 'about:blank', status: 500, title: 'Internal Server Error' });
    expect(body).not.toContain('secret detail');
    expect(requestId).toBeDefined();
    expect(logged.join('')).toMatch(new RegExp(`${requestId}[^]*secret detail`));
  });

  it('answers a malformed percent-encoding in a path parameter with 400', async () => {
    const response = await fetch(`${url}/v1/echo/%E0%A4%A`, { method: 'POST' });

    expect(response.status).toBe(400);
  });

  it('accepts a body of exactly 1 MiB', async () => {
    const response = await fetch(`${url}/v1/echo/x`, { method: 'POST', body: 'a'.repeat(MAX_BODY_BYTES) });

    expect(response.status).toBe(201);
    expect(echoed?.event.body).toHaveLength(MAX_BODY_BYTES);
  });
});

describe('the Lambda endpoint behind the cognito-local triggers', () => {
  let lambda: LambdaInvokeServer;
  const invoke = (name: string, payload: unknown) =>
    fetch(`${lambda.endpoint}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, { method: 'POST', body: JSON.stringify(payload) });

  beforeAll(async () => {
    lambda = await startLambdaInvoke();
    lambda.register('echo', (event: { value: number }, context) => Promise.resolve({ value: event.value + 1, functionName: context.functionName }));
    lambda.register('broken', () => Promise.reject(new TypeError('no good')));
  });

  afterAll(async () => {
    await lambda.close();
  });

  it('runs the function with the payload and answers its result, by name or by ARN', async () => {
    const byName = await invoke('echo', { value: 1 });
    const byArn = await invoke('arn:aws:lambda:local:000000000000:function:echo', { value: 2 });

    expect(byName.status).toBe(200);
    expect(await byName.json()).toEqual({ value: 2, functionName: 'echo' });
    expect(await byArn.json()).toEqual({ value: 3, functionName: 'echo' });
  });

  it('reports a function that throws as Lambda does', async () => {
    const response = await invoke('broken', {});

    expect(response.status).toBe(200);
    expect(response.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await response.json()).toMatchObject({ errorType: 'TypeError', errorMessage: 'no good' });
  });

  it('answers an unknown function with ResourceNotFoundException', async () => {
    const response = await invoke('nobody', {});

    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
  });
});

describe('the local cloud as a process', () => {
  it('runs next to another local cloud without sharing ports, users or tokens', async () => {
    const [first, second] = await Promise.all([startLocalCloud(), startLocalCloud()]);
    try {
      const user = await signUp(first.config);

      expect(new Set([first.url, second.url, first.config.cognitoEndpoint, second.config.cognitoEndpoint]).size).toBe(4);
      expect((await fetch(`${second.url}/v1/health`)).status).toBe(200);
      await expect(logIn(second.config, user.email, user.password)).rejects.toThrow();
      expect((await fetch(`${second.url}/v1/plan`, { headers: { authorization: `Bearer ${user.accessToken}` } })).status).toBe(401);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it('stops on SIGTERM at once with exit code 0 and leaves no process behind', async () => {
    const cloud = await startLocalCloud();
    const cognitoProcesses = await processesWorkingIn(join(cloud.home, 'cognito'));
    const started = Date.now();

    const code = await cloud.stop('SIGTERM');

    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(cognitoProcesses).toHaveLength(1);
    expect(await processesWorkingIn(cloud.home)).toEqual([]);
    await expect(fetch(`${cloud.config.cognitoEndpoint}/health`)).rejects.toThrow();
  });

  it('stops on SIGINT too', async () => {
    const cloud = await startLocalCloud();

    expect(await cloud.stop('SIGINT')).toBe(0);
    expect(await processesWorkingIn(cloud.home)).toEqual([]);
  });

  // Two starts of the local cloud, one after the other.
  it('comes back after a restart with the same users, pool, app client and tables', { timeout: 60_000 }, async () => {
    const home = await temporaryHome();
    const first = await startLocalCloud({ home });
    const user = await signUp(first.config);
    expect(await first.stop()).toBe(0);
    await putMarker(home, 'marker-1');

    const second = await startLocalCloud({ home });
    try {
      expect(second.config.userPoolId).toBe(first.config.userPoolId);
      expect(second.config.userPoolClientId).toBe(first.config.userPoolClientId);
      const tokens = await logIn(second.config, user.email, user.password);
      expect(decodeJwt(tokens.accessToken).payload.sub).toBe(user.sub);
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(await readMarker(home)).toBe('marker-1');
  });

  it('stops with exit code 1 when cognito-local dies under it', async () => {
    const cloud = await startLocalCloud();
    const [cognitoPid] = await processesWorkingIn(join(cloud.home, 'cognito'));

    process.kill(cognitoPid ?? Number.NaN, 'SIGKILL');

    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain('cognito-local exited unexpectedly');
  });

  it('leaves no cognito-local behind even when it is killed outright', async () => {
    const cloud = await startLocalCloud();

    await cloud.stop('SIGKILL');

    await expect.poll(() => processesWorkingIn(cloud.home), { timeout: 3_000 }).toEqual([]);
  });

  it('stops, children included, when the process that started it is killed', async () => {
    // A stand-in for a test worker: starts a local cloud over IPC, as startLocalCloud does, and dies.
    const home = await temporaryHome();
    const parent = spawn(process.execPath, ['--input-type=module', '-e', STARTING_PARENT], {
      env: { ...process.env, PORT: '0', CLOUDSEED_HOME: home, START_SCRIPT: join(repoRoot, 'infra', 'local', 'start.ts') },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    parent.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await expect.poll(() => output, { timeout: 15_000 }).toContain('ready at');
    const localCloudPid = Number(/^pid (\d+)/m.exec(output)?.[1]);

    try {
      parent.kill('SIGKILL');

      await expect.poll(() => isRunning(localCloudPid), { timeout: 5_000 }).toBe(false);
      await expect.poll(() => processesWorkingIn(home), { timeout: 3_000 }).toEqual([]);
    } finally {
      if (await isRunning(localCloudPid)) process.kill(localCloudPid, 'SIGTERM');
    }
  });

  it('makes a new user pool and app client when the remembered ones are gone', { timeout: 60_000 }, async () => {
    const home = await temporaryHome();
    const first = await startLocalCloud({ home });
    await first.stop();
    await rm(join(home, 'cognito', '.cognito', 'db'), { recursive: true });

    const second = await startLocalCloud({ home });
    try {
      const remembered = JSON.parse(await readFile(join(home, 'local-cloud.json'), 'utf8')) as Record<string, string>;

      expect(second.config.userPoolId).not.toBe(first.config.userPoolId);
      expect(remembered).toEqual({ userPoolId: second.config.userPoolId, userPoolClientId: second.config.userPoolClientId });
      await expect(signUp(second.config)).resolves.toHaveProperty('accessToken');
    } finally {
      await second.stop();
    }
  });

  it('fails with one clear line and exit code 1 when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const cloud = await spawnLocalCloud({ env: { PORT: String(port) } });

      expect(await cloud.exited).toBe(1);
      expect(cloud.stdout()).toBe('');
      expect(cloud.stderr().trim().split('\n')).toEqual([
        expect.stringContaining(`cannot listen on 127.0.0.1:${port}: the address is already in use`),
      ]);
      expect(await processesWorkingIn(cloud.home)).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});

const STARTING_PARENT = `
import { spawn } from 'node:child_process';
const child = spawn(process.execPath, [process.env.START_SCRIPT], { stdio: ['ignore', 'inherit', 'ignore', 'ipc'] });
console.log('pid ' + child.pid);
`;

/** Whether a process exists and is not a zombie waiting to be reaped. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// The local cloud's tables, read while it is stopped: the same LevelDB, opened by a dynalite here.
async function withStoppedTables<T>(home: string, use: (client: DynamoDBClient) => Promise<T>): Promise<T> {
  const server = dynalite({ path: join(home, 'dynamodb') });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    return await use(client);
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

const TABLE = 'cloudseed-plans';
const markerKey = { ownerId: { S: 'test' }, planId: { S: 'marker' } };

function putMarker(home: string, value: string): Promise<void> {
  return withStoppedTables(home, async (client) => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...markerKey, value: { S: value } } }));
  });
}

function readMarker(home: string): Promise<string | undefined> {
  return withStoppedTables(home, async (client) => {
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: markerKey, ConsistentRead: true }));
    return Item?.value?.S;
  });
}
