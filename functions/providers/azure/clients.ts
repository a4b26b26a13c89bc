import { setTimeout as delay } from 'node:timers/promises';
import { ComputeManagementClient } from '@azure/arm-compute';
import { ResourceManagementClient } from '@azure/arm-resources';
import type { TokenCredential } from '@azure/core-auth';
import type { HttpClient, PipelineRetryOptions } from '@azure/core-rest-pipeline';
import { SecretClient } from '@azure/keyvault-secrets';
import { BlobServiceClient } from '@azure/storage-blob';
import type { ContainerClient } from '@azure/storage-blob';
import type { AzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
import type { DeployTarget } from '../provider.ts';
import type { AzureTarget } from './target.ts';

// What every Azure module works with for one call: the target, its azure-json component, the SDK
// clients for the target's subscription, the clock it waits with and how long it may wait.

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

export interface AzureClients {
  /** ARM itself: generic reads, writes and deletes of resources by id (arm.ts). */
  readonly arm: ResourceManagementClient;
  /** VM instance views and Run Command. */
  readonly compute: ComputeManagementClient;
  /** The data plane of one key vault, by its name. */
  readonly secrets: (vaultName: string) => SecretClient;
  /** One blob container of a storage account (the subscription's backup account), through Blob Storage's data plane. */
  readonly blobs: (accountName: string, container: string) => ContainerClient;
}

export interface Waits {
  /** Between two polls of an operation or a resource still provisioning. */
  readonly pollIntervalMs: number;
  /** The longest one step waits for Azure before it gives up with a TransientError (and is retried). */
  readonly limitMs: number;
}

export interface AzureContext {
  readonly target: DeployTarget;
  readonly where: AzureTarget;
  readonly component: AzureComponent;
  readonly clients: AzureClients;
  readonly clock: Clock;
  readonly waits: Waits;
}

export interface ClientSettings {
  readonly httpClient?: HttpClient;
  readonly retry: PipelineRetryOptions;
}

/** The clients of one subscription, all sending through `httpClient` when one is given, with bounded retries of 429 and 5xx. */
export function createClients(credential: TokenCredential, subscriptionId: string, { httpClient, retry }: ClientSettings): AzureClients {
  const options = { retryOptions: retry, ...(httpClient ? { httpClient } : {}) };
  const vaults = new Map<string, SecretClient>();
  return {
    arm: new ResourceManagementClient(credential, subscriptionId, options),
    compute: new ComputeManagementClient(credential, subscriptionId, options),
    secrets: (vaultName) => {
      const client = vaults.get(vaultName) ?? new SecretClient(`https://${vaultName}.vault.azure.net`, credential, options);
      vaults.set(vaultName, client);
      return client;
    },
    // Blob Storage's client takes its own pipeline options (its retry policy, its HTTP client of the
    // older interface): it sends over its own HTTP client, which the tests meet with nock.
    blobs: (accountName, container) =>
      new BlobServiceClient(`https://${accountName}.blob.core.windows.net`, credential, {
        retryOptions: { maxTries: (retry.maxRetries ?? 3) + 1 },
      }).getContainerClient(container),
  };
}
