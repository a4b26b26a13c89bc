import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { Conflict } from '@cloudseed/shared';
import type { AccountRecord } from '@cloudseed/shared';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureTables, startDynamo } from '../../infra/local/dynamo.ts';
import type { Dynamo } from '../../infra/local/dynamo.ts';
import type * as BackupsModule from '../lib/backups.ts';
import { tables } from '../lib/tables.ts';

// Where lib/backups.ts puts a backup and how it links to one, over a real (dynalite) accounts
// table: a plan on AWS uses the bucket of the account it is deployed to, named after that account
// and the region it was connected with, and its links are signed with the customer's role; a
// local plan uses the local cloud's bucket. Only STS and S3 are mocked.

const stsMock = mockClient(STSClient);
const s3Mock = mockClient(S3Client);

const ROLE_ARN = 'arn:aws:iam::123456789012:role/CloudSeedDeployer';
const IDS = { planId: 'p-1', componentId: 'db', backupId: '20300101T000000Z-0a1b2c3d' };
const KEY = 'plans/p-1/db/20300101T000000Z-0a1b2c3d.dump';

let home: string;
let dynamo: Dynamo;
let lib: typeof BackupsModule;
let account: AccountRecord;
let externalId: string;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'cloudseed-backup-storage-'));
  dynamo = await startDynamo(home);
  // The modules read their environment when they load: it comes first. The platform runs on AWS.
  Object.assign(process.env, {
    CLOUDSEED_MODE: 'aws',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    S3_ENDPOINT: 'http://127.0.0.1:4569',
    BACKUP_BUCKET: 'cloudseed-backups',
    ...(await ensureTables(dynamo.endpoint, tables)),
  });
  lib = await import('../lib/backups.ts');
  const { accounts } = await import('../lib/accounts.ts');
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: { AccessKeyId: 'ASIAVERIFY', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(Date.now() + 900_000) },
  });
  s3Mock.on(HeadBucketCommand).resolves({});
  ({ externalId } = await accounts.list('alice'));
  account = await accounts.connect('alice', { roleArn: ROLE_ARN, region: 'eu-central-1' });
});

afterAll(async () => {
  await dynamo?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

beforeEach(() => {
  stsMock.reset();
  s3Mock.reset();
  stsMock.onAnyCommand().rejects(new Error('unexpected STS command'));
  s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
});

describe('backupLocationFor', () => {
  it('puts a plan on AWS in its account’s own bucket, in the region the account was connected with (not the plan’s)', async () => {
    await expect(lib.backupLocationFor('alice', { cloud: 'aws', region: 'eu-west-1', accountId: account.id }, IDS)).resolves.toEqual({
      bucket: 'cloudseed-backups-123456789012-eu-central-1',
      key: KEY,
    });
  });

  it('refuses a plan whose account is not connected (or is another customer’s) with a Conflict', async () => {
    await expect(lib.backupLocationFor('bob', { cloud: 'aws', region: 'eu-west-1', accountId: account.id }, IDS)).rejects.toBeInstanceOf(Conflict);
    await expect(lib.backupLocationFor('alice', { cloud: 'aws', region: 'eu-west-1' }, IDS)).rejects.toBeInstanceOf(Conflict);
  });

  it('puts a Google Cloud plan in its project’s backup bucket of the plan’s region, an Azure plan in its backup container', async () => {
    const { DynamoAccountRepository } = await import('../lib/accounts-repository.ts');
    const { documentClient } = await import('../lib/dynamo.ts');
    const repository = new DynamoAccountRepository(documentClient, process.env['ACCOUNTS_TABLE']!);
    const base = {
      ownerId: 'alice',
      name: 'x',
      region: 'europe-west4',
      createdAt: '2030-01-01T00:00:00.000Z',
      verifiedAt: '2030-01-01T00:00:00.000Z',
    };
    const gcpId = '0a0b0c0d-0000-4000-8000-000000000001';
    const azureId = '0a0b0c0d-0000-4000-8000-000000000002';
    await repository.create({ ...base, id: gcpId, cloud: 'gcp', projectId: 'acme-prod-4821', projectNumber: '482113570042' });
    await repository.create({
      ...base,
      id: azureId,
      cloud: 'azure',
      tenantId: '11111111-2222-4333-8444-555555555555',
      subscriptionId: '66666666-7777-4888-9999-000000000000',
      resourceGroup: 'orders-prod',
    });
    const gcp = { cloud: 'gcp', project: 'acme-prod-4821', region: 'europe-west4', zone: 'europe-west4-a', accountId: gcpId } as const;
    const { backupBucketName } = await import('@cloudseed/shared/targets/gcp/gcp-json');
    await expect(lib.backupLocationFor('alice', gcp, IDS)).resolves.toEqual({ bucket: backupBucketName('acme-prod-4821', 'europe-west4'), key: KEY });
    const azure = {
      cloud: 'azure',
      subscriptionId: '66666666-7777-4888-9999-000000000000',
      resourceGroup: 'orders-prod',
      region: 'westeurope',
      accountId: azureId,
    } as const;
    await expect(lib.backupLocationFor('alice', azure, IDS)).resolves.toEqual({ bucket: 'cloudseed-backups', key: KEY });
    // Another customer's, or none: not connected.
    await expect(lib.backupLocationFor('bob', gcp, IDS)).rejects.toThrow(
      /The Google Cloud account this plan is deployed to is not connected any more/,
    );
    await expect(lib.backupLocationFor('alice', { ...azure, accountId: undefined }, IDS)).rejects.toThrow(/The Azure account/);
  });

  it('puts a local plan in the local cloud’s bucket', async () => {
    await expect(lib.backupLocationFor('alice', { cloud: 'local' }, IDS)).resolves.toEqual({ bucket: 'cloudseed-backups', key: KEY });
  });
});

describe('backupDownloadUrl', () => {
  const options = { filename: 'p-1-20300101T000000Z-0a1b2c3d.dump', expiresIn: 900 };

  it('signs a link to the customer’s bucket with a session of their role, under their ExternalId', async () => {
    stsMock.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIADOWNLOAD', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date(Date.now() + 900_000) },
    });
    const location = { bucket: 'cloudseed-backups-123456789012-eu-central-1', key: KEY };

    const url = new URL(await lib.backupDownloadUrl('alice', { cloud: 'aws', region: 'eu-west-1', accountId: account.id }, location, options));

    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toStrictEqual([
      { RoleArn: ROLE_ARN, ExternalId: externalId, RoleSessionName: 'cloudseed-download', DurationSeconds: 900 },
    ]);
    expect(url.host).toBe('cloudseed-backups-123456789012-eu-central-1.s3.eu-central-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIADOWNLOAD\/\d{8}\/eu-central-1\/s3\/aws4_request$/);
  });

  it('answers a Conflict when the customer’s role no longer trusts the platform', async () => {
    stsMock.on(AssumeRoleCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));

    await expect(
      lib.backupDownloadUrl(
        'alice',
        { cloud: 'aws', region: 'eu-west-1', accountId: account.id },
        { bucket: 'cloudseed-backups-123456789012-eu-central-1', key: KEY },
        options,
      ),
    ).rejects.toBeInstanceOf(Conflict);
  });

  it('signs a local plan’s link for the local cloud’s S3, assuming nothing', async () => {
    const url = new URL(await lib.backupDownloadUrl('alice', { cloud: 'local' }, { bucket: 'cloudseed-backups', key: KEY }, options));

    expect(`${url.origin}${decodeURIComponent(url.pathname)}`).toBe(`http://127.0.0.1:4569/cloudseed-backups/${KEY}`);
    expect(stsMock.calls()).toHaveLength(0);
  });

  it('names the cloud whose account is not connected, and says when the platform has no Entra app to sign an Azure link with', async () => {
    const gcp = {
      cloud: 'gcp',
      project: 'acme-prod-4821',
      region: 'europe-west4',
      zone: 'europe-west4-a',
      accountId: '0a0b0c0d-0000-4000-8000-0000000000ff',
    } as const;
    await expect(lib.backupDownloadUrl('alice', gcp, { bucket: 'cloudseed-backups-0123456789abcdef', key: KEY }, options)).rejects.toThrow(
      /The Google Cloud account this backup is stored in is not connected any more/,
    );
    // Connected (by the earlier test), on a platform without CLOUD_FEDERATION_ROLE_ARN and AZURE_APP_ID.
    const azure = {
      cloud: 'azure',
      subscriptionId: '66666666-7777-4888-9999-000000000000',
      resourceGroup: 'orders-prod',
      region: 'westeurope',
      accountId: '0a0b0c0d-0000-4000-8000-000000000002',
    } as const;
    await expect(lib.backupDownloadUrl('alice', azure, { bucket: 'cloudseed-backups', key: KEY }, options)).rejects.toThrow(
      /This CloudSeed platform has no Entra app to sign in to Azure with/,
    );
  });
});
