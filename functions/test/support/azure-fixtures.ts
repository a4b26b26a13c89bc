import type { TokenCredential } from '@azure/core-auth';
import { validatePlan } from '@cloudseed/shared';
import { postgresComponents } from '@cloudseed/shared/cs-json/components';
import { BACKUP_RESOURCE_GROUP, renderAzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
import type { AzureComponent } from '@cloudseed/shared/targets/azure/azure-json';
import type { PlanInput } from '@cloudseed/shared';
import { AzureProvider } from '../../providers/azure/index.ts';
import type { AzureProviderOptions, Clock } from '../../providers/azure/index.ts';
import type { DeployTarget } from '../../providers/provider.ts';
import { FakeArm } from './azure-arm.ts';
import nock from 'nock';

// The plan the Azure provider's tests deploy (one PostgreSQL 16 component on Ubuntu 24.04, or a
// cluster), a static credential, a clock that only counts, and a provider sending through the
// in-memory ARM with retries and polls that never sleep.

export const SUBSCRIPTION_ID = '00000000-0000-4000-8000-000000000001';
export const RESOURCE_GROUP = 'cloudseed-orders';
export const REGION = 'westeurope';

export const credential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

export interface AzureTargetOptions {
  /** 0: a single node; 1: primary and replica (streaming); 2 or more: a Patroni cluster. */
  readonly replicas?: number;
  /** The data disk: 64 GiB unless given. */
  readonly sizeGiB?: number;
  /** hardware.azure.vmSize: the cheapest size that fits unless given. */
  readonly vmSize?: string;
}

export function azureTarget(planId: string, options: AzureTargetOptions = {}): DeployTarget {
  const replicas = options.replicas ?? 0;
  const input: PlanInput = {
    apiVersion: 'cs/v1',
    name: 'orders',
    target: { cloud: 'azure', subscriptionId: SUBSCRIPTION_ID, resourceGroup: RESOURCE_GROUP, region: REGION },
    components: [
      {
        id: 'db',
        type: 'postgres',
        os: { name: 'ubuntu', version: '24.04' },
        hardware: {
          cpus: 2,
          memoryGiB: 8,
          storage: { sizeGiB: options.sizeGiB ?? 64 },
          ...(options.vmSize ? { azure: { vmSize: options.vmSize } } : {}),
        },
        db: { version: '16', topology: replicas > 0 ? { mode: 'cluster', replicas } : { mode: 'single', replicas: 0 } },
        network: { allowedCidrs: ['203.0.113.0/24'] },
      },
    ],
  };
  const result = validatePlan(input);
  if (!result.ok) throw new Error(`invalid test plan: ${JSON.stringify(result.errors)}`);
  const [component] = postgresComponents(result.plan);
  if (!component) throw new Error('the test plan has no component');
  return { ownerId: 'owner-1', planId, planName: result.plan.name, deploymentId: `dep-${planId}`, target: result.plan.target, component };
}

/** The component as the provider renders it: what the requests are compared with. */
export function documentOf(target: DeployTarget): AzureComponent {
  return renderAzureComponent(target.component, {
    planId: target.planId,
    planName: target.planName,
    subscriptionId: SUBSCRIPTION_ID,
    resourceGroup: RESOURCE_GROUP,
    region: REGION,
  });
}

/** A clock that moves only when slept on. */
export function countingClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

export const groupId = (group: string): string => `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${group}`;

/** An ARM with the plan's resource group and the backup one, as the customer made them. */
export function seededArm(): FakeArm {
  const arm = new FakeArm();
  arm.seed(groupId(RESOURCE_GROUP), { location: REGION });
  arm.seed(groupId(BACKUP_RESOURCE_GROUP), { location: REGION });
  return arm;
}

export function azureProvider(arm: FakeArm, options: AzureProviderOptions = {}): AzureProvider {
  return new AzureProvider({
    credentialFor: () => credential,
    httpClient: arm,
    clock: countingClock(),
    retry: { maxRetries: 2, retryDelayInMs: 0, maxRetryDelayInMs: 0 },
    waits: { pollIntervalMs: 0, limitMs: 60_000 },
    ...options,
  });
}

/**
 * Blob Storage as the provider meets it through the SDK, on the wire (nock 15 hands each reply the
 * fetch Request): a download asks for the blob's properties (HEAD), then its body (GET); a DELETE
 * removes it. Blobs are keyed by their path after `/<container>/`; every request must carry the
 * connection's token and is recorded in `requests` as `<METHOD> <key>`.
 */
export function blobStorage(host: string, container: string, blobs: Map<string, string | Buffer>, requests: string[]): void {
  const blobOf = (request: Request): string => {
    if (request.headers.get('authorization') !== 'Bearer test-token')
      throw new Error(`a blob request without the connection's token: ${request.url}`);
    const blob = decodeURIComponent(new URL(request.url).pathname).replace(`/${container}/`, '');
    requests.push(`${request.method} ${blob}`);
    return blob;
  };
  const missing = [404, '', { 'x-ms-error-code': 'BlobNotFound' }] as const;
  // What Blob Storage answers about every blob: its etag and when it changed, beside its length.
  const properties = (body: string | Buffer) => ({
    'content-length': String(Buffer.byteLength(body)),
    etag: '"0x8DCF0A1B2C3D4E5"',
    'last-modified': 'Tue, 01 Jan 2030 00:00:00 GMT',
  });
  nock(host)
    .persist()
    .intercept(/.*/, 'HEAD')
    .reply((request: Request) => {
      const body = blobs.get(blobOf(request));
      return body === undefined ? missing : [200, '', properties(body)];
    })
    .intercept(/.*/, 'GET')
    .reply((request: Request) => {
      const body = blobs.get(blobOf(request));
      return body === undefined ? missing : [200, body, { ...properties(body), 'content-type': 'application/json' }];
    })
    .intercept(/.*/, 'DELETE')
    .reply((request: Request) => (blobs.delete(blobOf(request)) ? [202, ''] : missing));
}
