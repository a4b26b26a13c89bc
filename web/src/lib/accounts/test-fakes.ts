import { vi } from 'vitest';
import type { FederationIdentity } from '@cloudseed/shared/accounts/accounts';
import type { Account, AccountList } from '../api/types.ts';
import type { AccountsClient } from './accounts.svelte.ts';

// Accounts of each cloud as the API answers them (GET /v1/accounts on the local cloud and on AWS),
// and a client whose answers a test sets.

export const EXTERNAL_ID = 'q0C3m3mYV1lJr8WcV8f6b3Yx2JQm4nZkT9sHdLpA';
export const PLATFORM_ACCOUNT_ID = '111122223333';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/CloudSeedDeployer';
export const LAUNCH_STACK_URL =
  'https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=https%3A%2F%2Fcloudseed-templates.s3.amazonaws.com%2Fcloudseed-account.json&stackName=CloudSeed&param_PlatformAccountId=111122223333&param_ExternalId=q0C3m3mYV1lJr8WcV8f6b3Yx2JQm4nZkT9sHdLpA';

/** Who the platform is to Google Cloud and Azure, as GET /v1/accounts names it on AWS. */
export const FEDERATION: FederationIdentity = {
  awsAccountId: '111122223333',
  roleName: 'CloudSeedCloudFederation',
  azureAppId: '7d3f1c2a-9b4e-4f60-8a1d-2c5e6f708192',
};
export const GCP_PROJECT = { projectId: 'shop-prod-4821', projectNumber: '482913004512' } as const;
export const AZURE_GROUP = {
  tenantId: '4b1e0c9d-2f3a-4e5b-8c6d-7e8f90a1b2c3',
  subscriptionId: '9c8b7a65-4321-4fed-8cba-0123456789ab',
  resourceGroup: 'shop-prod',
} as const;

export const LOCAL: Account = { id: 'local', name: 'This machine', kind: 'local' };

export function awsAccount(changes: Partial<Account> = {}): Account {
  return {
    id: '5d0c1e1a-3a57-4c55-9a57-0f0f4f1b2c3d',
    name: 'production',
    kind: 'aws',
    awsAccountId: '123456789012',
    roleArn: ROLE_ARN,
    region: 'eu-west-1',
    createdAt: '2026-11-20T10:00:00.000Z',
    verifiedAt: '2026-11-20T10:00:00.000Z',
    ...changes,
  };
}

export function gcpAccount(changes: Partial<Account> = {}): Account {
  return {
    id: '6e1d2f2b-4b68-4d66-8b68-1a1a5a2c3d4e',
    name: 'analytics',
    kind: 'gcp',
    ...GCP_PROJECT,
    region: 'europe-west1',
    createdAt: '2026-11-21T10:00:00.000Z',
    verifiedAt: '2026-11-22T08:30:00.000Z',
    ...changes,
  };
}

export function azureAccount(changes: Partial<Account> = {}): Account {
  return {
    id: '7f2e3a3c-5c79-4e77-9c79-2b2b6b3d4e5f',
    name: 'billing',
    kind: 'azure',
    ...AZURE_GROUP,
    region: 'westeurope',
    createdAt: '2026-11-22T10:00:00.000Z',
    verifiedAt: '2026-11-22T10:00:00.000Z',
    ...changes,
  };
}

/** The local cloud's answer: the built-in account, no platform account, no launch link. */
export function localList(...connected: Account[]): AccountList {
  return { items: [LOCAL, ...connected], externalId: EXTERNAL_ID };
}

/** CloudSeed on AWS: the platform account, the launch link, and the platform's identity to Google Cloud and Azure. */
export function awsList(...connected: Account[]): AccountList {
  return {
    items: connected,
    externalId: EXTERNAL_ID,
    platformAccountId: PLATFORM_ACCOUNT_ID,
    launchStackUrl: LAUNCH_STACK_URL,
    federation: FEDERATION,
  };
}

export function fakeClient(list: AccountList = awsList()) {
  return {
    accountList: vi.fn<AccountsClient['accountList']>(() => Promise.resolve(list)),
    connectAccount: vi.fn<AccountsClient['connectAccount']>((input) => {
      const id = `c0ffee00-0000-4000-8000-00000000000${input.cloud === 'gcp' ? 3 : input.cloud === 'azure' ? 4 : 2}`;
      if (input.cloud === 'gcp') {
        const { projectId, projectNumber } = input;
        return Promise.resolve(
          gcpAccount({ id, name: input.name ?? `Google Cloud ${projectId}`, projectId, projectNumber, region: input.region ?? 'us-central1' }),
        );
      }
      if (input.cloud === 'azure') {
        const { tenantId, subscriptionId, resourceGroup } = input;
        return Promise.resolve(
          azureAccount({
            id,
            name: input.name ?? `Azure ${resourceGroup}`,
            tenantId,
            subscriptionId,
            resourceGroup,
            region: input.region ?? 'eastus',
          }),
        );
      }
      return Promise.resolve(awsAccount({ id, name: input.name ?? 'AWS 123456789012', roleArn: input.roleArn, region: input.region ?? 'us-east-1' }));
    }),
    deleteAccount: vi.fn<AccountsClient['deleteAccount']>(() => Promise.resolve()),
  } satisfies AccountsClient;
}
