import { gcpExternalAccountConfig } from '@cloudseed/shared/targets/gcp/connection';
import type { GcpConnection } from '@cloudseed/shared/targets/gcp/connection';
import { ExternalAccountClient } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import { PermanentError } from '../errors.ts';

/**
 * The credentials of a connected project: google-auth-library's AWS-sourced external account, which
 * signs GetCallerIdentity with the Lambda's own role credentials (from its environment), exchanges
 * it at Google's STS and impersonates the project's deployer service account. Nothing is stored.
 */
export function gcpAuthFor(connection: GcpConnection): AuthClient {
  const client = ExternalAccountClient.fromJSON({
    ...gcpExternalAccountConfig(connection),
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
  });
  if (!client) throw new PermanentError(`the connection to project ${connection.projectId} does not make an external account`);
  return client;
}
