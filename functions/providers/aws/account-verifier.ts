import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AccountConnection, AccountVerifier, VerifyOutcome } from '@cloudseed/shared';
import { awsErrorCode } from './errors.ts';

// Connecting an account proves the connection first: the platform assumes the customer's role
// with the customer's ExternalId, as every workflow step will. STS answers AccessDenied alike for a
// role that does not exist, a trust policy that names another account or no ExternalId, and a
// wrong ExternalId. With the credentials it returns otherwise, the verifier asks S3 for the
// account's backup bucket in the region the customer gave (HeadBucket, s3:ListBucket): the
// template creates it in the region it is launched in, and a connection that names another
// region would leave every backup without a bucket.

export const VERIFY_SESSION_NAME = 'cloudseed-verify';
export const VERIFY_SESSION_SECONDS = 900;

export interface VerifierCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
}

/** Builds the S3 client that looks for the bucket. Default: the connection's region, standard retries, no region redirects. */
export type VerifierS3Factory = (region: string, credentials: VerifierCredentials) => S3Client;

// A bucket elsewhere (301), none (404) or one the role may not list or that another account owns (403): not the account's bucket in this region.
const NOT_THE_BUCKET = new Set([301, 403, 404]);

export class StsAccountVerifier implements AccountVerifier {
  readonly #sts: STSClient;
  readonly #s3For: VerifierS3Factory;

  constructor(
    sts: STSClient,
    s3For: VerifierS3Factory = (region, credentials) => new S3Client({ region, credentials, retryMode: 'standard', maxAttempts: 3 }),
  ) {
    this.#sts = sts;
    this.#s3For = s3For;
  }

  async verify(connection: AccountConnection, backupBucket: string): Promise<VerifyOutcome> {
    let output;
    try {
      output = await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: connection.roleArn,
          ExternalId: connection.externalId,
          RoleSessionName: VERIFY_SESSION_NAME,
          DurationSeconds: VERIFY_SESSION_SECONDS,
        }),
      );
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'AccessDenied' || code === 'AccessDeniedException') return 'denied';
      throw error;
    }
    const { AccessKeyId, SecretAccessKey, SessionToken } = output.Credentials ?? {};
    if (!AccessKeyId || !SecretAccessKey || !SessionToken) throw new Error(`sts:AssumeRole on ${connection.roleArn} returned no credentials`);
    const s3 = this.#s3For(connection.region, { accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken });
    try {
      await s3.send(new HeadBucketCommand({ Bucket: backupBucket }));
      return 'verified';
    } catch (error) {
      if (NOT_THE_BUCKET.has(httpStatus(error) ?? 0)) return 'no-backup-bucket';
      throw error;
    } finally {
      s3.destroy();
    }
  }
}

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
