export { AzureProvider } from './azure-provider.ts';
export type { AzureProviderOptions } from './azure-provider.ts';
export { AZURE_PROVIDER_ACTIONS, AZURE_PROVIDER_DATA_ACTIONS } from './actions.ts';
export type { AzureProviderAction } from './actions.ts';
export type { Clock } from './clients.ts';
