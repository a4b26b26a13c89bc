import { randomBytes, randomUUID } from 'node:crypto';
import { STSClient } from '@aws-sdk/client-sts';
import { AccountService } from '@cloudseed/shared/accounts/accounts';
import { StsAccountVerifier } from '../providers/aws/account-verifier.ts';
import { LocalAccountVerifier } from '../providers/local/account-verifier.ts';
import { DynamoAccountRepository } from './accounts-repository.ts';
import { documentClient } from './dynamo.ts';
import { mode, requireEnv } from './env.ts';
import { deployments, plans } from './plans.ts';
import { accountsTable } from './tables.ts';

const local = mode() === 'local';
const platformAccountId = process.env.PLATFORM_ACCOUNT_ID;
const templateUrl = process.env.CUSTOMER_TEMPLATE_URL;

export const accounts = new AccountService({
  repository: new DynamoAccountRepository(documentClient, requireEnv(accountsTable.env)),
  // STS in the platform's own region; the customer's role is global.
  verifier: local ? new LocalAccountVerifier() : new StsAccountVerifier(new STSClient({ retryMode: 'standard', maxAttempts: 3 })),
  plans,
  deployments,
  now: () => new Date(),
  newId: randomUUID,
  // 24 random bytes: 32 URL-safe characters, 192 bits.
  newExternalId: () => randomBytes(24).toString('base64url'),
  builtInLocal: local,
  ...(platformAccountId && !local ? { platformAccountId } : {}),
  ...(templateUrl ? { templateUrl } : {}),
});
