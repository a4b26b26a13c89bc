import type { ClusterEndpoint } from '../provider.ts';
import { TransientError } from '../errors.ts';
import { ensureResource, readResource } from './arm.ts';
import type { ArmBody } from './arm.ts';
import type { AzureContext } from './clients.ts';
import { operationOn } from './target.ts';

// A Patroni cluster's one address on Azure: an internal Standard Load Balancer whose probe asks
// Patroni's /primary on each node, so only the leader receives connections. The nodes join its
// backend pool through their NICs (azure-json puts the pool in each NIC's IP configuration), so
// converging it to the nodes is launching them; this only makes sure it exists and reads its address.

export async function ensureEndpoint(context: AzureContext): Promise<ClusterEndpoint | undefined> {
  const { loadBalancer } = context.component.network;
  if (!loadBalancer) return undefined;
  const body = await ensureResource(context, loadBalancer.id, loadBalancer.apiVersion, loadBalancer.body);
  return { host: frontendAddress(loadBalancer.id, body), port: context.component.postgres.port };
}

/** The load balancer's address when it exists; undefined for a component without one, or before it is created. */
export async function describeEndpoint(context: AzureContext): Promise<ClusterEndpoint | undefined> {
  const { loadBalancer } = context.component.network;
  if (!loadBalancer) return undefined;
  const body = await readResource(context, loadBalancer.id, loadBalancer.apiVersion);
  return body ? { host: frontendAddress(loadBalancer.id, body), port: context.component.postgres.port } : undefined;
}

function frontendAddress(id: string, body: ArmBody): string {
  const frontends = (body.properties?.['frontendIPConfigurations'] ?? []) as ReadonlyArray<{ properties?: { privateIPAddress?: string } }>;
  const address = frontends[0]?.properties?.privateIPAddress;
  if (!address) throw new TransientError(`${operationOn(id, 'read')} has no private address yet`);
  return address;
}
