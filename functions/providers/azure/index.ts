export { AzureProvider } from './azure-provider.ts';
export type { AzureProviderOptions } from './azure-provider.ts';
export { AZURE_PROVIDER_ACTIONS, AZURE_PROVIDER_DATA_ACTIONS } from '@cloudseed/shared/targets/azure/actions';
export type { AzureProviderAction } from '@cloudseed/shared/targets/azure/actions';
export type { Clock } from './clients.ts';
