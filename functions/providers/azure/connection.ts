import { GetWebIdentityTokenCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import { ClientAssertionCredential } from '@azure/identity';
import type { ClientAssertionCredentialOptions, TokenCredential } from '@azure/identity';
import { AZURE_TOKEN_EXCHANGE_AUDIENCE } from '@cloudseed/shared/targets/azure/connection';
import type { AzureConnection } from '@cloudseed/shared/targets/azure/connection';
import { AccountAccessError } from '../errors.ts';

/** How long the AWS-issued token lives: Entra ID only needs it for the exchange. */
const ASSERTION_SECONDS = 300;

/**
 * The credentials of a connected subscription: CloudSeed's multi-tenant app (`appId`) in the
 * customer's tenant, proven with a JWT that AWS STS issues the platform's own role (outbound
 * identity federation), which the app's federated credential trusts. Nothing is stored.
 */
export function azureCredentialFor(
  connection: AzureConnection,
  appId: string,
  sts: STSClient,
  options: ClientAssertionCredentialOptions = {},
): TokenCredential {
  return new ClientAssertionCredential(
    connection.tenantId,
    appId,
    async () => {
      const answer = await sts.send(
        new GetWebIdentityTokenCommand({ Audience: [AZURE_TOKEN_EXCHANGE_AUDIENCE], SigningAlgorithm: 'RS256', DurationSeconds: ASSERTION_SECONDS }),
      );
      if (!answer.WebIdentityToken) throw new AccountAccessError('AWS STS issued no web identity token for the Azure token exchange');
      return answer.WebIdentityToken;
    },
    options,
  );
}
