import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynamo } from '../infra/local/dynamo.ts';
import type { Dynamo } from '../infra/local/dynamo.ts';
import { remoteHostRefusal } from '../infra/local/host-policy.ts';
import { installationKeys } from '../infra/local/keys.ts';
import { BACKUP_BUCKET, startS3 } from '../infra/local/s3.ts';
import type { LocalS3 } from '../infra/local/s3.ts';
import { cognitoLocalPrivateKey, decodePayload, signJwt } from './api/tokens.ts';
import { installationSigningKey } from './support/jwt.ts';
import { spawnLocalCloud, startLocalCloud, temporaryHome } from './support/local-cloud.ts';
import type { LocalCloud } from './support/local-cloud.ts';
import { processesWorkingIn } from './support/processes.ts';
import { rawRequest } from './support/raw-http.ts';
import { logIn, signUp } from './support/users.ts';

// Issue #11: the local cloud is not an open door. Its tokens are signed with a key of this
// installation only, its emulators take this installation's credentials only and answer no web
// page, and it listens beyond loopback only when told to.

const FOREIGN_ORIGIN = 'http://evil.example';
const OLD_FIXED_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

async function plansStatus(cloud: LocalCloud, token: string): Promise<number> {
  const response = await fetch(`${cloud.url}/v1/plan`, { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
}

function preflight(url: string, origin: string, method = 'POST'): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'content-type,x-amz-target' },
  });
}

describe('access tokens of the local cloud', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
  }, 30_000);

  afterAll(async () => {
    await cloud.stop();
  });

  it('refuses a token signed with the key shipped in the cognito-local package, whose claims are otherwise valid', async () => {
    const { accessToken } = await signUp(cloud.config);
    const claims = decodePayload(accessToken);

    const shipped = signJwt(claims, cognitoLocalPrivateKey);
    const installation = signJwt(claims, await installationSigningKey(cloud.home));

    expect(await plansStatus(cloud, shipped)).toBe(401);
    // The same claims under the installation's key pass: the key alone made the difference.
    expect(await plansStatus(cloud, installation)).toBe(200);
  });

  it('accepts the token of a real sign-in', async () => {
    const { accessToken } = await signUp(cloud.config);

    expect(await plansStatus(cloud, accessToken)).toBe(200);
  });

  it("has cognito-local serve the installation's public key, not the package's", async () => {
    const served = await (await fetch(`${cloud.config.cognitoEndpoint}/${cloud.config.userPoolId}/.well-known/jwks.json`)).json();
    const installation = JSON.parse(await readFile(join(cloud.home, 'keys', 'token-signing.jwks.json'), 'utf8')) as { keys: { n: string }[] };
    const shipped = JSON.parse(
      await readFile(new URL('../node_modules/cognito-local/lib/keys/cognitoLocal.public.json', import.meta.url), 'utf8'),
    ) as { jwk: { n: string } };

    expect(served).toEqual(installation);
    expect(installation.keys.map((key) => key.n)).not.toContain(shipped.jwk.n);
  });

  it('keeps the keys private to their owner', async () => {
    const keys = join(cloud.home, 'keys');

    expect((await stat(keys)).mode & 0o777).toBe(0o700);
    for (const file of await readdir(keys)) expect((await stat(join(keys, file))).mode & 0o777, file).toBe(0o600);
  });
});

describe("the installation's keys", () => {
  it('are made once and kept across restarts; a new sign-in after a restart works', async () => {
    const home = await temporaryHome();
    const first = await startLocalCloud({ home });
    const user = await signUp(first.config);
    const privateKey = await readFile(join(home, 'keys', 'token-signing.private.json'), 'utf8');
    const credentials = await readFile(join(home, 'keys', 'emulator-credentials.json'), 'utf8');
    expect(await first.stop()).toBe(0);

    const second = await startLocalCloud({ home });
    try {
      expect(await readFile(join(home, 'keys', 'token-signing.private.json'), 'utf8')).toBe(privateKey);
      expect(await readFile(join(home, 'keys', 'emulator-credentials.json'), 'utf8')).toBe(credentials);
      const { accessToken } = await logIn(second.config, user.email, user.password);
      expect(await plansStatus(second, accessToken)).toBe(200);
      // The key the first run signed with still signs tokens the second run accepts.
      const keptKey = createPrivateKey((JSON.parse(privateKey) as { pem: string }).pem);
      expect(await plansStatus(second, signJwt(decodePayload(accessToken), keptKey))).toBe(200);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 60_000);

  it('are one set of keys when two starts make them at once', async () => {
    const home = await temporaryHome();

    const [a, b] = await Promise.all([installationKeys(home), installationKeys(home)]);

    expect(a).toEqual(b);
    expect(a.credentials.accessKeyId).not.toBe(OLD_FIXED_CREDENTIALS.accessKeyId);
    expect((await installationKeys(await temporaryHome())).credentials).not.toEqual(a.credentials);
  });
});

describe('s3rver', () => {
  let s3: LocalS3;
  let credentials: { accessKeyId: string; secretAccessKey: string };
  const client = (signWith: { accessKeyId: string; secretAccessKey: string }) =>
    new S3Client({
      endpoint: s3.endpoint,
      region: 'local',
      forcePathStyle: true,
      credentials: signWith,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
  const status = async (promise: Promise<unknown>) => {
    try {
      await promise;
      return 200;
    } catch (error) {
      return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    }
  };

  beforeAll(async () => {
    const home = await temporaryHome();
    ({ credentials } = await installationKeys(home));
    s3 = await startS3(home, credentials);
  });

  afterAll(async () => {
    await s3.close();
  });

  it("serves requests signed with the installation's credentials, headers or presigned URL", async () => {
    const body = randomBytes(64).toString('hex');
    await client(credentials).send(new PutObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'plans/a/b.txt', Body: body }));

    const object = await client(credentials).send(new GetObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'plans/a/b.txt' }));
    const presigned = await fetch(
      await getSignedUrl(
        client(credentials),
        new GetObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'plans/a/b.txt', ResponseContentDisposition: 'attachment; filename="b (1).txt"' }),
        { expiresIn: 60 },
      ),
    );

    expect(await object.Body?.transformToString()).toBe(body);
    expect(presigned.status).toBe(200);
    expect(await presigned.text()).toBe(body);
  });

  it('refuses the old fixed credentials, its own built-in key, a wrong secret and no signature with 403', async () => {
    const put = (signWith: typeof credentials) =>
      client(signWith).send(new PutObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'intruder.txt', Body: 'x' }));

    expect(await status(put(OLD_FIXED_CREDENTIALS))).toBe(403);
    expect(await status(put({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }))).toBe(403);
    expect(await status(put({ accessKeyId: credentials.accessKeyId, secretAccessKey: 'not-the-secret' }))).toBe(403);
    expect((await fetch(`${s3.endpoint}/${BACKUP_BUCKET}/intruder.txt`, { method: 'PUT', body: 'x' })).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/${BACKUP_BUCKET}/plans/a/b.txt`)).status).toBe(403);
    expect(await status(client(credentials).send(new GetObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'intruder.txt' })))).toBe(404);
  });

  it('refuses a presigned URL whose key was changed after signing', async () => {
    const url = new URL(
      await getSignedUrl(client(credentials), new GetObjectCommand({ Bucket: BACKUP_BUCKET, Key: 'plans/a/b.txt' }), { expiresIn: 60 }),
    );
    url.pathname = `/${BACKUP_BUCKET}/plans/a/other.txt`;

    expect((await fetch(url)).status).toBe(403);
  });

  it('answers no web page: a cross-origin preflight is refused without CORS headers', async () => {
    const response = await preflight(`${s3.endpoint}/${BACKUP_BUCKET}/plans/a/b.txt`, FOREIGN_ORIGIN, 'GET');

    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('dynalite', () => {
  let dynamo: Dynamo;

  beforeAll(async () => {
    dynamo = await startDynamo(await temporaryHome());
  });

  afterAll(async () => {
    await dynamo.close();
  });

  it('listens on loopback only', () => {
    expect(new URL(dynamo.endpoint).hostname).toBe('127.0.0.1');
  });

  it('answers the SDK', async () => {
    const client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'local', credentials: OLD_FIXED_CREDENTIALS });

    await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
  });

  it('refuses a cross-origin preflight and a cross-origin request, without CORS headers', async () => {
    const options = await preflight(dynamo.endpoint, FOREIGN_ORIGIN);
    const post = await fetch(dynamo.endpoint, { method: 'POST', headers: { origin: FOREIGN_ORIGIN, 'content-type': 'text/plain' }, body: '{}' });

    for (const response of [options, post]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('refuses a request addressed to another host name, as DNS rebinding would send it', async () => {
    const { port } = new URL(dynamo.endpoint);

    const response = await rawRequest(dynamo.endpoint, `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`);

    expect(response.status).toBe(403);
  });
});

describe('cross-origin requests to the local cloud', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud();
  }, 30_000);

  afterAll(async () => {
    await cloud.stop();
  });

  it("lets the web app's own origin call cognito-local", async () => {
    const response = await preflight(`${cloud.config.cognitoEndpoint}/`, cloud.url);

    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(cloud.url);
  });

  it('refuses any other origin at cognito-local, preflight or not', async () => {
    const options = await preflight(`${cloud.config.cognitoEndpoint}/`, FOREIGN_ORIGIN);
    const signUpAttempt = await fetch(`${cloud.config.cognitoEndpoint}/`, {
      method: 'POST',
      headers: {
        origin: FOREIGN_ORIGIN,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSCognitoIdentityProviderService.ListUserPools',
      },
      body: JSON.stringify({ MaxResults: 10 }),
    });

    for (const response of [options, signUpAttempt]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('gives a foreign origin no CORS grant on the API', async () => {
    const options = await preflight(`${cloud.url}/v1/plan`, FOREIGN_ORIGIN);
    const config = await fetch(`${cloud.url}/config.json`, { headers: { origin: FOREIGN_ORIGIN } });

    expect(options.status).toBe(405);
    for (const response of [options, config]) expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('HOST', () => {
  it.each(['0.0.0.0', '::', '192.168.1.10', 'cloudseed.example'])('refuses %s: exits 1 with the reason, starting nothing', async (host) => {
    const home = await temporaryHome();
    const cloud = await spawnLocalCloud({ home, env: { HOST: host } });

    expect(await cloud.exited).toBe(1);
    expect(cloud.stdout()).toBe('');
    expect(cloud.stderr()).toContain(`HOST=${host} is not a loopback address`);
    expect(cloud.stderr()).toContain('CLOUDSEED_ALLOW_REMOTE=1');
    expect(await readdir(home)).toEqual([]);
    expect(await processesWorkingIn(home)).toEqual([]);
  });

  it('allows loopback addresses without the acknowledgement', () => {
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'])
      expect(remoteHostRefusal(host, {}), host).toBeUndefined();
  });

  it('allows any address with CLOUDSEED_ALLOW_REMOTE=1, and only with 1', () => {
    expect(remoteHostRefusal('0.0.0.0', { CLOUDSEED_ALLOW_REMOTE: '1' })).toBeUndefined();
    expect(remoteHostRefusal('0.0.0.0', { CLOUDSEED_ALLOW_REMOTE: 'yes' })).toContain('CLOUDSEED_ALLOW_REMOTE=1');
  });

  it('starts with the acknowledgement', async () => {
    // Only loopback is bound here: the acknowledgement must not change what a loopback HOST does.
    const cloud = await startLocalCloud({ env: { HOST: '127.0.0.1', CLOUDSEED_ALLOW_REMOTE: '1' } });

    expect((await fetch(`${cloud.url}/v1/health`)).status).toBe(200);
    expect(await cloud.stop()).toBe(0);
  });
});
