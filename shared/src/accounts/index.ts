export {
  ACCOUNT_ID,
  AccountService,
  DENIED_MESSAGE,
  LOCAL_ACCOUNT,
  LOCAL_ACCOUNT_ID,
  MAX_ACCOUNTS,
  accountResource,
  connectAccountJsonSchema,
  connectAccountSchema,
  sameRole,
} from './accounts.ts';
export type {
  AccountConnection,
  AccountList,
  AccountRecord,
  AccountRepository,
  AccountResource,
  AccountServiceDependencies,
  AccountVerifier,
  ConnectAccountInput,
  VerifyOutcome,
} from './accounts.ts';
