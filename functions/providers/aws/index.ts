export { AwsProvider, clientToken, generatePassword } from './aws-provider.ts';
export type { AwsProviderOptions } from './aws-provider.ts';
export { AccountAccessError, CapacityError, PermanentError, PROVIDER_ERROR_NAMES, TransientError } from './errors.ts';
export type { ProviderError } from './errors.ts';
export { AWS_PROVIDER_ACTIONS, CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from './actions.ts';
export type { AwsProviderAction, NodeRoleAction } from './actions.ts';
export { roleSessionName } from './credentials.ts';
export type { AccountClients, AssumedCredentials, ClientsFactory, Clock, CredentialsProvider } from './credentials.ts';
