import * as crypto from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '../../infra/local/lambda-context.ts';
import { ORIGIN_VERIFY_HEADER } from '../lib/headers.ts';
import type * as HttpModule from '../lib/http.ts';
import type { ApiMiddleware, ApiResponse } from '../lib/http.ts';

// The shared middleware stack refuses requests that did not come through CloudFront: the origin
// secret is read once at cold start through the Secrets Manager API (mocked: it cannot run here),
// and every route built with route() / authedRoute() checks the header before anything else.

// timingSafeEqual, observed: the comparison must go through it, on inputs of one fixed length.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof crypto>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:CloudSeedOriginSecret-AbCdEf';
const SECRET = 'Qm9uZCBKYW1lcyBCb25kIGlzIG5vdCBhIHNlY3JldCBhdCBhbGw0123456789abcd';

const secretsManager = mockClient(SecretsManagerClient);
const saved = { mode: process.env.CLOUDSEED_MODE, arn: process.env.ORIGIN_VERIFY_SECRET_ARN };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeEach(() => {
  secretsManager.reset();
  vi.mocked(crypto.timingSafeEqual).mockClear();
  vi.resetModules();
});

afterEach(() => {
  restore('CLOUDSEED_MODE', saved.mode);
  restore('ORIGIN_VERIFY_SECRET_ARN', saved.arn);
});

/** A fresh cold start of the shared HTTP module with this environment. */
async function coldStart(env: { mode: 'aws' | 'local'; arn?: string }): Promise<typeof HttpModule> {
  process.env.CLOUDSEED_MODE = env.mode;
  restore('ORIGIN_VERIFY_SECRET_ARN', env.arn);
  return import('../lib/http.ts');
}

let requests = 0;
function event(headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  const requestId = `request-${++requests}`;
  return {
    version: '2.0',
    routeKey: 'GET /v1/health',
    rawPath: '/v1/health',
    rawQueryString: '',
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', ...headers },
    requestContext: {
      accountId: '111122223333',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path: '/v1/health', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'curl/8' },
      requestId,
      routeKey: 'GET /v1/health',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1_767_225_600_000,
    },
    isBase64Encoded: false,
  };
}

type Handler = ReturnType<typeof HttpModule.route>;
async function call(handler: Handler, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return handler(event(headers), lambdaContext('cloudseed-api-test', `request-${requests}`, 10_000));
}

/** A route that answers with the headers its handler saw, and a middleware that records whether it ran. */
function echoRoute(http: typeof HttpModule) {
  const ran = { extra: 0 };
  const extra: ApiMiddleware = {
    before: () => {
      ran.extra++;
    },
  };
  const handler = http.route((request) => Promise.resolve(http.json(200, { headers: request.headers })), [extra]);
  return { handler, ran };
}

function expectForbidden(response: ApiResponse): void {
  expect(response.statusCode).toBe(403);
  expect(response.headers?.['content-type']).toBe('application/problem+json');
  const body = JSON.parse(String(response.body)) as Record<string, unknown>;
  expect(body).toEqual({ type: 'about:blank', status: 403, title: 'Forbidden', detail: expect.any(String) as string });
  // Nothing that would help find or guess the secret: not its value, not the header, not the ARN.
  expect(response.body).not.toContain(SECRET);
  expect(response.body).not.toContain(ORIGIN_VERIFY_HEADER);
  expect(response.body).not.toContain('secret');
}

describe('the origin check on AWS', () => {
  beforeEach(() => {
    secretsManager.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ ARN: SECRET_ARN, SecretString: SECRET });
  });

  it('reads the origin secret once, at cold start, by the ARN in ORIGIN_VERIFY_SECRET_ARN', async () => {
    const http = await coldStart({ mode: 'aws', arn: SECRET_ARN });
    const calls = secretsManager.commandCalls(GetSecretValueCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ SecretId: SECRET_ARN });

    const { handler } = echoRoute(http);
    await call(handler, { [ORIGIN_VERIFY_HEADER]: SECRET });
    await call(handler, { [ORIGIN_VERIFY_HEADER]: SECRET });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('answers 403 with a problem document, before any other middleware runs, when the header is missing', async () => {
    const { handler, ran } = echoRoute(await coldStart({ mode: 'aws', arn: SECRET_ARN }));
    expectForbidden(await call(handler));
    expect(ran.extra).toBe(0);
  });

  it('answers 403 to a wrong value: empty, shorter, the same length, longer, or the secret with another case', async () => {
    const { handler, ran } = echoRoute(await coldStart({ mode: 'aws', arn: SECRET_ARN }));
    const wrong = ['', 'x', `${SECRET.slice(0, -1)}X`, `${SECRET}x`, SECRET.toLowerCase(), ` ${SECRET}`];
    for (const value of wrong) expectForbidden(await call(handler, { [ORIGIN_VERIFY_HEADER]: value }));
    expect(ran.extra).toBe(0);
  });

  it('lets the request with the secret through to the route, and removes the header before the handler sees it', async () => {
    const { handler, ran } = echoRoute(await coldStart({ mode: 'aws', arn: SECRET_ARN }));
    const response = await call(handler, { [ORIGIN_VERIFY_HEADER]: SECRET, accept: 'application/json' });
    expect(response.statusCode).toBe(200);
    expect(ran.extra).toBe(1);
    const seen = (JSON.parse(String(response.body)) as { headers: Record<string, string> }).headers;
    expect(seen.accept).toBe('application/json');
    expect(seen).not.toHaveProperty(ORIGIN_VERIFY_HEADER);
  });

  it('guards the real route modules: health answers only through CloudFront', async () => {
    process.env.CLOUDSEED_MODE = 'aws';
    process.env.ORIGIN_VERIFY_SECRET_ARN = SECRET_ARN;
    const { handler } = await import('../api/health.ts');
    expectForbidden(await call(handler));
    expect((await call(handler, { [ORIGIN_VERIFY_HEADER]: SECRET })).statusCode).toBe(200);
  });

  it('compares SHA-256 digests with timingSafeEqual, so the time depends neither on where nor on how much a guess differs', async () => {
    const { handler } = echoRoute(await coldStart({ mode: 'aws', arn: SECRET_ARN }));
    const compare = vi.mocked(crypto.timingSafeEqual);
    for (const value of ['x', SECRET.slice(0, -1), `${SECRET}${'y'.repeat(500)}`, SECRET]) {
      compare.mockClear();
      await call(handler, { [ORIGIN_VERIFY_HEADER]: value });
      expect(compare, value).toHaveBeenCalledTimes(1);
      const [given, expected] = compare.mock.calls[0]! as [Buffer, Buffer];
      expect(given.length).toBe(32);
      expect(expected).toEqual(crypto.createHash('sha256').update(SECRET).digest());
    }
  });

  it('refuses to start on AWS without ORIGIN_VERIFY_SECRET_ARN, rather than serving requests from around CloudFront', async () => {
    await expect(coldStart({ mode: 'aws' })).rejects.toThrow(/ORIGIN_VERIFY_SECRET_ARN is required on AWS/);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
  });

  it('refuses to start when the secret cannot be read or has no string value', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException'));
    await expect(coldStart({ mode: 'aws', arn: SECRET_ARN })).rejects.toThrow(/AccessDeniedException/);
    vi.resetModules();
    secretsManager.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN });
    await expect(coldStart({ mode: 'aws', arn: SECRET_ARN })).rejects.toThrow(/has no string value/);
  });
});

describe('the local cloud, which is not behind CloudFront', () => {
  it('checks no header and reads no secret when ORIGIN_VERIFY_SECRET_ARN is unset', async () => {
    const { handler, ran } = echoRoute(await coldStart({ mode: 'local' }));
    const response = await call(handler);
    expect(response.statusCode).toBe(200);
    expect(ran.extra).toBe(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    expect(vi.mocked(crypto.timingSafeEqual)).not.toHaveBeenCalled();
  });
});
