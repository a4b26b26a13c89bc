export { GcpProvider } from './gcp-provider.ts';
export type { GcpProviderOptions } from './gcp-provider.ts';
export { gcpClients, ServiceAccounts } from './clients.ts';
export type { GcpClients } from './clients.ts';
