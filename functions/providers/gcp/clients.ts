import { setTimeout as delay } from 'node:timers/promises';
import {
  DisksClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  InstanceGroupsClient,
  InstancesClient,
  NetworksClient,
  RegionBackendServicesClient,
  RegionHealthChecksClient,
  RegionOperationsClient,
  RoutersClient,
  SubnetworksClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { Storage } from '@google-cloud/storage';
import type { GcpComponent, GcpNetwork, GcpSecret } from '@cloudseed/shared/targets/gcp/index';
import type { AuthClient } from 'google-auth-library';
import type { DeployTarget } from '../provider.ts';
import { call, found } from './errors.ts';

// What every GCP service module works with for one call: the target, its gcp-json (the component,
// the plan's network and its certificate authority's secret), the clients in the customer's project
// and the clock it waits with. Every client is the Google library's own, built on the AuthClient of
// the customer's connection, over REST (no gRPC in a Lambda function).

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => delay(ms) };

/** The IAM service accounts API, which has no client library of its own in Node: its REST calls, through the connection's AuthClient. */
export class ServiceAccounts {
  readonly #auth: AuthClient;

  constructor(auth: AuthClient) {
    this.#auth = auth;
  }

  /** The service account, or undefined when there is none. */
  get(project: string, email: string): Promise<{ email: string } | undefined> {
    return found('iam.serviceAccounts.get', async () => (await this.#auth.request<{ email: string }>({ url: this.#url(project, email) })).data);
  }

  async create(project: string, accountId: string, displayName: string): Promise<void> {
    await call('iam.serviceAccounts.create', () =>
      this.#auth.request({
        url: `https://iam.googleapis.com/v1/projects/${project}/serviceAccounts`,
        method: 'POST',
        data: { accountId, serviceAccount: { displayName } },
        retry: true,
      }),
    );
  }

  async delete(project: string, email: string): Promise<void> {
    await call('iam.serviceAccounts.delete', () => this.#auth.request({ url: this.#url(project, email), method: 'DELETE', retry: true }));
  }

  #url(project: string, email: string): string {
    return `https://iam.googleapis.com/v1/projects/${project}/serviceAccounts/${encodeURIComponent(email)}`;
  }
}

export interface GcpClients {
  readonly networks: NetworksClient;
  readonly subnetworks: SubnetworksClient;
  readonly routers: RoutersClient;
  readonly firewalls: FirewallsClient;
  readonly instances: InstancesClient;
  /** Grows a node's data disk. */
  readonly disks: DisksClient;
  /** A Patroni cluster's internal load balancer: its health check, instance group, backend service and forwarding rule. */
  readonly healthChecks: RegionHealthChecksClient;
  readonly instanceGroups: InstanceGroupsClient;
  readonly backendServices: RegionBackendServicesClient;
  readonly forwardingRules: ForwardingRulesClient;
  readonly globalOperations: GlobalOperationsClient;
  readonly regionOperations: RegionOperationsClient;
  readonly zoneOperations: ZoneOperationsClient;
  readonly secrets: SecretManagerServiceClient;
  readonly storage: Storage;
  readonly serviceAccounts: ServiceAccounts;
}

/** The clients of one project, all on the connection's AuthClient; google-gax retries what its service config says is safe to. */
export function gcpClients(auth: AuthClient, project: string): GcpClients {
  const options = { authClient: auth, fallback: true } as const;
  return {
    networks: new NetworksClient(options),
    subnetworks: new SubnetworksClient(options),
    routers: new RoutersClient(options),
    firewalls: new FirewallsClient(options),
    instances: new InstancesClient(options),
    disks: new DisksClient(options),
    healthChecks: new RegionHealthChecksClient(options),
    instanceGroups: new InstanceGroupsClient(options),
    backendServices: new RegionBackendServicesClient(options),
    forwardingRules: new ForwardingRulesClient(options),
    globalOperations: new GlobalOperationsClient(options),
    regionOperations: new RegionOperationsClient(options),
    zoneOperations: new ZoneOperationsClient(options),
    secrets: new SecretManagerServiceClient(options),
    storage: new Storage({ authClient: auth, projectId: project, retryOptions: { autoRetry: true, maxRetries: 4 } }),
    serviceAccounts: new ServiceAccounts(auth),
  };
}

export interface GcpContext {
  readonly target: DeployTarget;
  readonly project: string;
  readonly region: string;
  readonly zone: string;
  readonly component: GcpComponent;
  readonly network: GcpNetwork;
  /** The plan's certificate authority: one secret, readable by every component's service account. */
  readonly certificateAuthority: GcpSecret;
  readonly clients: GcpClients;
  readonly clock: Clock;
}

type Writable<T> = T extends readonly (infer U)[] ? Writable<U>[] : T extends object ? { -readonly [K in keyof T]: Writable<T[K]> } : T;

/** A copy of a gcp-json body for a client to take: the clients' request types are mutable, the document is not. */
export function body<T>(value: T): Writable<T> {
  return structuredClone(value) as Writable<T>;
}
