import { randomBytes, randomUUID } from 'node:crypto';
import { STSClient } from '@aws-sdk/client-sts';
import { AccountService } from '@cloudseed/shared/accounts/accounts';
import type { AzureAccountVerifier, GcpAccountVerifier } from '@cloudseed/shared';
import { StsAccountVerifier } from '../providers/aws/account-verifier.ts';
import { azureAppIdFrom, federationIdentityFrom, federationRoleFrom } from '../providers/federation.ts';
import type { FederationRole } from '../providers/federation.ts';
import { LocalAccountVerifier, LocalCloudVerifier } from '../providers/local/account-verifier.ts';
import { DynamoAccountRepository } from './accounts-repository.ts';
import { documentClient } from './dynamo.ts';
import { mode, requireEnv } from './env.ts';
import { deployments, plans } from './plans.ts';
import { accountsTable } from './tables.ts';

const local = mode() === 'local';
const platformAccountId = process.env.PLATFORM_ACCOUNT_ID;
const templateUrl = process.env.CUSTOMER_TEMPLATE_URL;
// STS in the platform's own region; the customer's role is global.
const sts = local ? undefined : new STSClient({ retryMode: 'standard', maxAttempts: 3 });
const federation = local ? undefined : federationRoleFrom(process.env, sts);
const federationIdentity = local ? undefined : federationIdentityFrom(process.env);

/** Google Cloud's and Azure's SDKs load only when a customer connects a project or a resource group. */
function gcpVerifier(role: FederationRole | undefined): GcpAccountVerifier {
  if (!role) return new LocalCloudVerifier('Google Cloud', local);
  return {
    verify: async (connection) => {
      const [{ GcpProjectVerifier }, { gcpAuthFor }] = await Promise.all([
        import('../providers/gcp/account-verifier.ts'),
        import('../providers/gcp/connection.ts'),
      ]);
      return new GcpProjectVerifier((project) => gcpAuthFor(project, role)).verify(connection);
    },
  };
}

function azureVerifier(role: FederationRole | undefined, appId: string | undefined): AzureAccountVerifier {
  if (!role || !appId) return new LocalCloudVerifier('Azure', local);
  return {
    verify: async (connection) => {
      const [{ AzureGroupVerifier }, { azureCredentialFor }] = await Promise.all([
        import('../providers/azure/account-verifier.ts'),
        import('../providers/azure/connection.ts'),
      ]);
      const roleSts = role.stsClient();
      return new AzureGroupVerifier((group) => azureCredentialFor(group, appId, roleSts)).verify(connection);
    },
  };
}

export const accounts = new AccountService({
  repository: new DynamoAccountRepository(documentClient, requireEnv(accountsTable.env)),
  verifier: sts ? new StsAccountVerifier(sts) : new LocalAccountVerifier(),
  gcpVerifier: gcpVerifier(federation),
  azureVerifier: azureVerifier(federation, local ? undefined : azureAppIdFrom(process.env)),
  plans,
  deployments,
  now: () => new Date(),
  newId: randomUUID,
  // 24 random bytes: 32 URL-safe characters, 192 bits.
  newExternalId: () => randomBytes(24).toString('base64url'),
  builtInLocal: local,
  ...(platformAccountId && !local ? { platformAccountId } : {}),
  ...(templateUrl ? { templateUrl } : {}),
  ...(federationIdentity ? { federation: federationIdentity } : {}),
});
