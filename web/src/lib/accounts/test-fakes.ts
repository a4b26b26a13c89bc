import { vi } from 'vitest';
import type { Account, AccountList } from '../api/types.ts';
import type { AccountsClient } from './accounts.svelte.ts';

// Accounts as the API answers them (GET /v1/accounts on the local cloud and on AWS), and a client
// whose answers a test sets.

export const EXTERNAL_ID = 'q0C3m3mYV1lJr8WcV8f6b3Yx2JQm4nZkT9sHdLpA';
export const PLATFORM_ACCOUNT_ID = '111122223333';
export const ROLE_ARN = 'arn:aws:iam::123456789012:role/CloudSeedDeployer';
export const LAUNCH_STACK_URL =
  'https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=https%3A%2F%2Fcloudseed-templates.s3.amazonaws.com%2Fcloudseed-account.json&stackName=CloudSeed&param_PlatformAccountId=111122223333&param_ExternalId=q0C3m3mYV1lJr8WcV8f6b3Yx2JQm4nZkT9sHdLpA';

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

/** The local cloud's answer: the built-in account, no platform account, no launch link. */
export function localList(...connected: Account[]): AccountList {
  return { items: [LOCAL, ...connected], externalId: EXTERNAL_ID };
}

/** CloudSeed on AWS: the platform account and the launch link. */
export function awsList(...connected: Account[]): AccountList {
  return { items: connected, externalId: EXTERNAL_ID, platformAccountId: PLATFORM_ACCOUNT_ID, launchStackUrl: LAUNCH_STACK_URL };
}

export function fakeClient(list: AccountList = awsList()) {
  return {
    accountList: vi.fn<AccountsClient['accountList']>(() => Promise.resolve(list)),
    connectAccount: vi.fn<AccountsClient['connectAccount']>((input) =>
      Promise.resolve(
        awsAccount({
          id: 'c0ffee00-0000-4000-8000-000000000002',
          name: input.name ?? 'AWS 123456789012',
          roleArn: input.roleArn,
          region: input.region ?? 'us-east-1',
        }),
      ),
    ),
    deleteAccount: vi.fn<AccountsClient['deleteAccount']>(() => Promise.resolve()),
  } satisfies AccountsClient;
}
