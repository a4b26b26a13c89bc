export { AwsProvider } from './aws-provider.ts';
export type { AwsProviderOptions } from './aws-provider.ts';
export { clientToken } from './instances.ts';
export { generatePassword } from './secrets.ts';
export { AWS_PROVIDER_ACTIONS, CUSTOMER_ROLE_ACTIONS, NODE_ROLE_ACTIONS } from './actions.ts';
export type { AwsProviderAction, NodeRoleAction } from './actions.ts';
export { roleSessionName } from './credentials.ts';
export type { AccountClients, AssumedCredentials, ClientsFactory, Clock, CredentialsProvider } from './credentials.ts';
