import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { backupBucketRegion } from '@cloudseed/shared/targets/aws/account';
import type { AccountConnection, BackupLocation } from '../provider.ts';
import { AccountAccessError, PermanentError } from '../errors.ts';
import { awsErrorCode, call } from './errors.ts';

// Download links for backups on AWS. The objects are in the customer's own bucket, which only
// the customer's roles may read, so a link is signed with credentials of the CloudSeed role there:
// a session of its own, assumed for exactly as long as the link lives (a link signed with a
// session dies with it), in the region the bucket's name gives.

export const DOWNLOAD_SESSION_NAME = 'cloudseed-download';
/** STS sessions last 15 minutes at least, and an hour at most when assumed with another role's credentials (a Lambda's). */
export const MIN_LINK_SECONDS = 900;
export const MAX_LINK_SECONDS = 3600;

export interface DownloadLinkOptions {
  /** The file name the browser saves the object as. */
  readonly filename: string;
  readonly expiresIn: number;
}

export class BackupLinks {
  readonly #sts: STSClient;

  constructor(sts: STSClient) {
    this.#sts = sts;
  }

  async downloadUrl(account: AccountConnection, location: BackupLocation, options: DownloadLinkOptions): Promise<string> {
    const { expiresIn, filename } = options;
    if (!Number.isInteger(expiresIn) || expiresIn < MIN_LINK_SECONDS || expiresIn > MAX_LINK_SECONDS) {
      throw new PermanentError(`a download link lives ${MIN_LINK_SECONDS} to ${MAX_LINK_SECONDS} seconds, not ${expiresIn}`);
    }
    if (!/^[\w.-]+$/.test(filename)) throw new PermanentError(`${JSON.stringify(filename)} is not a file name for a download`);
    let output;
    try {
      output = await call('sts:AssumeRole', () =>
        this.#sts.send(
          new AssumeRoleCommand({
            RoleArn: account.roleArn,
            ExternalId: account.externalId,
            RoleSessionName: DOWNLOAD_SESSION_NAME,
            DurationSeconds: expiresIn,
          }),
        ),
      );
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'AccessDenied' || code === 'AccessDeniedException') {
        throw new AccountAccessError(`CloudSeed cannot assume ${account.roleArn}; check the trust policy and ExternalId`, { code, cause: error });
      }
      throw error;
    }
    const { AccessKeyId, SecretAccessKey, SessionToken } = output.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey || !SessionToken) throw new PermanentError(`sts:AssumeRole on ${account.roleArn} returned no credentials`);
    const s3 = new S3Client({
      region: backupBucketRegion(location.bucket) ?? account.region,
      credentials: { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken },
    });
    try {
      return await getSignedUrl(
        s3,
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ResponseContentDisposition: `attachment; filename="${filename}"` }),
        { expiresIn },
      );
    } finally {
      s3.destroy();
    }
  }
}
