import { gcpExternalAccountConfig } from '@cloudseed/shared/targets/gcp/connection';
import type { GcpConnection } from '@cloudseed/shared/targets/gcp/connection';
import { AwsClient } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import type { FederationRole } from '../federation.ts';

const SCOPES = ['https://www.googleapis.com/auth/cloud-platform'];

/**
 * The credentials of a connected project: google-auth-library's AWS-sourced external account, which
 * signs GetCallerIdentity as the platform's federation role, exchanges it at Google's STS, then
 * impersonates the project's deployer service account. Nothing is stored. Without a federation
 * role the signing credentials are the environment's own (AWS_ACCESS_KEY_ID and the rest).
 */
export function gcpAuthFor(connection: GcpConnection, federation?: FederationRole, region = process.env.AWS_REGION): AuthClient {
  const { credential_source: source, ...config } = gcpExternalAccountConfig(connection);
  if (!federation) return new AwsClient({ ...config, credential_source: source, scopes: SCOPES });
  return new AwsClient({
    ...config,
    scopes: SCOPES,
    aws_security_credentials_supplier: {
      getAwsRegion: () => (region ? Promise.resolve(region) : Promise.reject(new Error('AWS_REGION is not set'))),
      getAwsSecurityCredentials: async () => {
        const credentials = await federation.credentials();
        return { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, token: credentials.sessionToken };
      },
    },
  });
}
