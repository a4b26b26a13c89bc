import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AccountConnection, AccountVerifier, VerifyOutcome } from '@cloudseed/shared';
import { awsErrorCode } from './errors.ts';

// Connecting an account proves the connection first: the platform assumes the customer's role
// with the customer's ExternalId, as every workflow step will. STS answers AccessDenied alike for a
// role that does not exist, a trust policy that names another account or no ExternalId, and a
// wrong ExternalId; the credentials it returns otherwise are dropped unused.

export const VERIFY_SESSION_NAME = 'cloudseed-verify';
export const VERIFY_SESSION_SECONDS = 900;

export class StsAccountVerifier implements AccountVerifier {
  readonly #sts: STSClient;

  constructor(sts: STSClient) {
    this.#sts = sts;
  }

  async verify(connection: AccountConnection): Promise<VerifyOutcome> {
    try {
      await this.#sts.send(
        new AssumeRoleCommand({
          RoleArn: connection.roleArn,
          ExternalId: connection.externalId,
          RoleSessionName: VERIFY_SESSION_NAME,
          DurationSeconds: VERIFY_SESSION_SECONDS,
        }),
      );
      return 'verified';
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === 'AccessDenied' || code === 'AccessDeniedException') return 'denied';
      throw error;
    }
  }
}
