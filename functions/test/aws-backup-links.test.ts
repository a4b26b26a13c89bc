import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BackupLinks } from '../providers/aws/backup-links.ts';
import { AccountAccessError, PermanentError } from '../providers/errors.ts';
import type { AccountConnection, BackupLocation } from '../providers/provider.ts';

const stsMock = mockClient(STSClient);
const s3Mock = mockClient(S3Client);

const ACCOUNT: AccountConnection = {
  roleArn: 'arn:aws:iam::123456789012:role/CloudSeedDeployer',
  externalId: 'Zk3d9Qm1x7VbT2rLp8sN4wHc6yJ0aEuF',
  region: 'eu-west-1',
};
// The account's own bucket, in the region the template was launched in (not the plan's).
const LOCATION: BackupLocation = { bucket: 'cloudseed-backups-123456789012-eu-central-1', key: 'plans/p-1/db/20300101T000000Z-0a1b2c3d.dump' };
const OPTIONS = { filename: 'p-1-20300101T000000Z-0a1b2c3d.dump', expiresIn: 900 };

const links = () => new BackupLinks(new STSClient({ region: 'us-east-1' }));

beforeEach(() => {
  stsMock.reset();
  s3Mock.reset();
  stsMock.onAnyCommand().rejects(new Error('unexpected STS command'));
  s3Mock.onAnyCommand().rejects(new Error('unexpected S3 command'));
  stsMock.on(AssumeRoleCommand).resolves({
    Credentials: {
      AccessKeyId: 'ASIADOWNLOAD',
      SecretAccessKey: 'secret',
      SessionToken: 'session-token',
      Expiration: new Date(Date.now() + 900_000),
    },
  });
});

describe('BackupLinks.downloadUrl', () => {
  it('signs a GET of the object in the customer bucket with a session of the customer role that lives as long as the link', async () => {
    const url = new URL(await links().downloadUrl(ACCOUNT, LOCATION, OPTIONS));

    expect(stsMock.commandCalls(AssumeRoleCommand).map((call) => call.args[0].input)).toStrictEqual([
      { RoleArn: ACCOUNT.roleArn, ExternalId: ACCOUNT.externalId, RoleSessionName: 'cloudseed-download', DurationSeconds: 900 },
    ]);
    // Presigning is local: S3 itself is not asked anything.
    expect(s3Mock.calls()).toHaveLength(0);
    expect(url.host).toBe('cloudseed-backups-123456789012-eu-central-1.s3.eu-central-1.amazonaws.com');
    expect(decodeURIComponent(url.pathname)).toBe(`/${LOCATION.key}`);
    const query = url.searchParams;
    expect(query.get('X-Amz-Credential')).toMatch(/^ASIADOWNLOAD\/\d{8}\/eu-central-1\/s3\/aws4_request$/);
    expect(query.get('X-Amz-Security-Token')).toBe('session-token');
    expect(query.get('X-Amz-Expires')).toBe('900');
    expect(query.get('response-content-disposition')).toBe(`attachment; filename="${OPTIONS.filename}"`);
  });

  it('refuses a role that no longer trusts the platform with an AccountAccessError', async () => {
    stsMock
      .on(AssumeRoleCommand)
      .rejects(new STSServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'not authorized' }));

    await expect(links().downloadUrl(ACCOUNT, LOCATION, OPTIONS)).rejects.toBeInstanceOf(AccountAccessError);
  });

  it.each([
    ['a link shorter than an STS session', { ...OPTIONS, expiresIn: 60 }, /lives 900 to 3600 seconds, not 60/],
    ['a link longer than a chained session', { ...OPTIONS, expiresIn: 7200 }, /lives 900 to 3600 seconds, not 7200/],
    ['a file name that would break the header', { ...OPTIONS, filename: 'x".dump' }, /is not a file name/],
  ])('refuses %s before assuming anything', async (_case, options, message) => {
    const attempt = links().downloadUrl(ACCOUNT, LOCATION, options);

    await expect(attempt).rejects.toBeInstanceOf(PermanentError);
    await expect(attempt).rejects.toThrow(message);
    expect(stsMock.calls()).toHaveLength(0);
  });
});
