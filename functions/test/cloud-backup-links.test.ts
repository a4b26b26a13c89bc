import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobDownloadUrl } from '../providers/azure/backup-links.ts';
import { gcsDownloadUrl } from '../providers/gcp/backup-links.ts';
import { gcpAuthFor } from '../providers/gcp/connection.ts';
import { AccountAccessError, PermanentError } from '../providers/errors.ts';
import { credential } from './support/azure-fixtures.ts';

// Download links of backups on Google Cloud and Azure, through the clouds' own SDKs on the wire
// (nock): on GCP a V4 signed URL that IAM's signBlob signs as the project's deployer account, reached
// through the real federation chain (Google's STS, then impersonation); on Azure a user delegation
// SAS signed with the key Blob Storage issues the connection.

const GCP = { projectId: 'acme-prod-4821', projectNumber: '482113570042' } as const;
const DEPLOYER = `cloudseed-deployer@${GCP.projectId}.iam.gserviceaccount.com`;
const LOCATION = { bucket: 'cloudseed-backups-0123456789abcdef', key: 'plans/p-1/db/20300101T000000Z-0a1b2c3d.dump' };
const OPTIONS = { filename: 'p-1-20300101T000000Z-0a1b2c3d.dump', expiresIn: 900 };

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('a download link on Google Cloud', () => {
  function federation(): void {
    Object.assign(process.env, {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'ASIAPLATFORMEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'platform-secret',
      AWS_SESSION_TOKEN: 'platform-session',
    });
    nock('https://sts.googleapis.com').post('/v1/token').reply(200, {
      access_token: 'federated-token',
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: 3600,
    });
    nock('https://iamcredentials.googleapis.com')
      .post(`/v1/projects/-/serviceAccounts/${DEPLOYER}:generateAccessToken`)
      .matchHeader('authorization', 'Bearer federated-token')
      .reply(200, { accessToken: 'deployer-token', expireTime: new Date(Date.now() + 3_600_000).toISOString() });
  }

  it('is signed by IAM as the deployer account, for one object, the file name asked and 15 minutes', async () => {
    federation();
    let payload = '';
    const signature = Buffer.from('a signature IAM made with the deployer key');
    const signBlob = nock('https://iamcredentials.googleapis.com')
      .post(`/v1/projects/-/serviceAccounts/${DEPLOYER}:signBlob`, (body: { payload: string }) => {
        payload = Buffer.from(body.payload, 'base64').toString('utf8');
        return true;
      })
      .matchHeader('authorization', 'Bearer deployer-token')
      .reply(200, { keyId: 'key-1', signedBlob: signature.toString('base64') });

    const url = new URL(await gcsDownloadUrl(gcpAuthFor(GCP), GCP.projectId, LOCATION, OPTIONS));

    expect(signBlob.isDone()).toBe(true);
    expect(`${url.origin}${url.pathname}`).toBe(`https://storage.googleapis.com/${LOCATION.bucket}/${LOCATION.key}`);
    const query = url.searchParams;
    expect(query.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(query.get('X-Goog-Credential')).toMatch(new RegExp(`^${DEPLOYER}/\\d{8}/auto/storage/goog4_request$`));
    expect(Number(query.get('X-Goog-Expires'))).toBeGreaterThan(890);
    expect(Number(query.get('X-Goog-Expires'))).toBeLessThanOrEqual(900);
    expect(query.get('response-content-disposition')).toBe(`attachment; filename="${OPTIONS.filename}"`);
    expect(query.get('X-Goog-Signature')).toBe(signature.toString('hex'));
    // What IAM signed: V4's string to sign, whose canonical request names this object and a GET.
    expect(payload).toMatch(/^GOOG4-RSA-SHA256\n\d{8}T\d{6}Z\n\d{8}\/auto\/storage\/goog4_request\n[0-9a-f]{64}$/);
  });

  it('says CloudSeed may not sign when the deployer account lacks Token Creator on itself, and refuses a bad file name before asking', async () => {
    federation();
    nock('https://iamcredentials.googleapis.com')
      .post(`/v1/projects/-/serviceAccounts/${DEPLOYER}:signBlob`)
      .reply(403, { error: { code: 403, message: "Permission 'iam.serviceAccounts.signBlob' denied on resource", status: 'PERMISSION_DENIED' } });

    await expect(gcsDownloadUrl(gcpAuthFor(GCP), GCP.projectId, LOCATION, OPTIONS)).rejects.toBeInstanceOf(AccountAccessError);
    await expect(gcsDownloadUrl(gcpAuthFor(GCP), GCP.projectId, LOCATION, { ...OPTIONS, filename: 'a"; b' })).rejects.toBeInstanceOf(PermanentError);
    await expect(gcsDownloadUrl(gcpAuthFor(GCP), GCP.projectId, LOCATION, { ...OPTIONS, expiresIn: 7200 })).rejects.toThrow(
      /lives 1 to 3600 seconds/,
    );
  });
});

describe('a download link on Azure', () => {
  const ACCOUNT = 'cs0123456789abcdef01234';
  const CONTAINER = { ...LOCATION, bucket: 'cloudseed-backups' };
  const NOW = Date.parse('2030-01-01T00:00:00Z');

  it('is a user delegation SAS that reads one blob over HTTPS, as the file name asked, for 15 minutes', async () => {
    let asked = '';
    const keys = nock(`https://${ACCOUNT}.blob.core.windows.net`)
      .post('/', (body: string) => {
        asked = body;
        return true;
      })
      .query({ restype: 'service', comp: 'userdelegationkey' })
      .matchHeader('authorization', 'Bearer test-token')
      .reply(
        200,
        '<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>11111111-2222-4333-8444-555555555555</SignedOid>' +
          '<SignedTid>72f988bf-0000-4000-8000-00000000cafe</SignedTid><SignedStart>2029-12-31T23:55:00Z</SignedStart>' +
          '<SignedExpiry>2030-01-01T00:15:00Z</SignedExpiry><SignedService>b</SignedService><SignedVersion>2025-01-05</SignedVersion>' +
          `<Value>${Buffer.alloc(32, 7).toString('base64')}</Value></UserDelegationKey>`,
        { 'content-type': 'application/xml' },
      );

    const url = new URL(await blobDownloadUrl(credential, ACCOUNT, CONTAINER, { ...OPTIONS, now: () => NOW }));

    expect(keys.isDone()).toBe(true);
    expect(asked).toContain('<Start>2029-12-31T23:55:00Z</Start>');
    expect(asked).toContain('<Expiry>2030-01-01T00:15:00Z</Expiry>');
    expect(`${url.origin}${url.pathname}`).toBe(`https://${ACCOUNT}.blob.core.windows.net/cloudseed-backups/${LOCATION.key}`);
    const query = url.searchParams;
    expect(query.get('sp')).toBe('r');
    expect(query.get('sr')).toBe('b');
    expect(query.get('spr')).toBe('https');
    expect(query.get('st')).toBe('2029-12-31T23:55:00Z');
    expect(query.get('se')).toBe('2030-01-01T00:15:00Z');
    expect(query.get('skoid')).toBe('11111111-2222-4333-8444-555555555555');
    expect(query.get('rscd')).toBe(`attachment; filename="${OPTIONS.filename}"`);
    expect(query.get('sig')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('says CloudSeed may not sign when Blob Storage refuses the key, and refuses a storage account name Azure would not give', async () => {
    nock(`https://${ACCOUNT}.blob.core.windows.net`)
      .post('/')
      .query(true)
      .reply(403, '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>no</Message></Error>', {
        'x-ms-error-code': 'AuthorizationPermissionMismatch',
        'content-type': 'application/xml',
      });
    await expect(blobDownloadUrl(credential, ACCOUNT, CONTAINER, OPTIONS)).rejects.toBeInstanceOf(AccountAccessError);
    await expect(blobDownloadUrl(credential, 'Not-An-Account', CONTAINER, OPTIONS)).rejects.toThrow(/is not a storage account name/);
  });
});
