import { VNET_ADDRESS_SPACE } from '@cloudseed/shared/targets/azure/azure-json';
import type { AzureSecurityRule } from '@cloudseed/shared/targets/azure/azure-json';
import type { NetworkRef } from '../provider.ts';
import { PermanentError } from '../errors.ts';
import { deleteResource, ensureResource, readResource, waitProvisioned, writeResource } from './arm.ts';
import type { ArmBody } from './arm.ts';
import type { AzureContext } from './clients.ts';

// The network boundary on Azure: the component's network security group, on its own subnet of the
// plan's VNet. A component renders only its own part of the plan, so the VNet is created bare the
// first time (never written again: a PUT without subnets would remove the other components'), and
// each component writes its subnet as a child resource, as azure-json's plan-level VNet body
// renders it (virtualNetworkFor). The security group's rules are written again whenever they differ
// from the plan's, so a change of allowedCidrs converges.

export async function ensureNetwork(context: AzureContext): Promise<NetworkRef> {
  const { component } = context;
  const { networkSecurityGroup: group, subnet } = component.network;
  const existing = await readResource(context, group.id, group.apiVersion);
  const written =
    existing && rulesMatch(existing, group.body.properties.securityRules)
      ? existing
      : await writeResource(context, group.id, group.apiVersion, group.body);
  await waitProvisioned(context, group.id, group.apiVersion, written);
  const network = virtualNetworkOf(context);
  await ensureResource(context, network.id, group.apiVersion, network.body);
  await ensureResource(context, subnet.id, group.apiVersion, subnetBody(context));
  return { networkId: group.id };
}

/** Refuses a component whose address range another component's subnet of the plan already has. */
export async function checkAddressRange(context: AzureContext): Promise<void> {
  const { subnet } = context.component.network;
  const network = await readResource(context, virtualNetworkOf(context).id, context.component.network.networkSecurityGroup.apiVersion);
  const subnets = (network?.properties?.['subnets'] ?? []) as ReadonlyArray<{ name?: string; properties?: { addressPrefix?: string } }>;
  const taken = subnets.find((other) => other.name !== subnet.name && other.properties?.addressPrefix === subnet.addressPrefix);
  if (taken) {
    throw new PermanentError(
      `component ${context.component.id} would use ${subnet.addressPrefix}, which subnet ${String(taken.name)} of the plan's network already has`,
    );
  }
}

/** Removes the subnet, then the security group it names, then the VNet once no component has a subnet in it. */
export async function removeNetwork(context: AzureContext, signal: AbortSignal): Promise<void> {
  const { networkSecurityGroup: group, subnet } = context.component.network;
  await deleteResource(context, subnet.id, group.apiVersion, signal);
  await deleteResource(context, group.id, group.apiVersion, signal);
  const network = virtualNetworkOf(context);
  const existing = await readResource(context, network.id, group.apiVersion);
  const subnets = existing?.properties?.['subnets'];
  if (existing && Array.isArray(subnets) && subnets.length === 0) await deleteResource(context, network.id, group.apiVersion, signal);
}

/** The plan's VNet without subnets: its id is the component subnet's parent. */
function virtualNetworkOf({ component, where }: AzureContext): { id: string; body: ArmBody } {
  const { subnet, networkSecurityGroup } = component.network;
  const { 'cloudseed-component': _component, ...planTags } = networkSecurityGroup.body.tags;
  return {
    id: subnet.id.slice(0, subnet.id.lastIndexOf('/subnets/')),
    body: { location: where.region, tags: planTags, properties: { addressSpace: { addressPrefixes: [VNET_ADDRESS_SPACE] } } },
  };
}

function subnetBody({ component }: AzureContext): ArmBody {
  const { subnet, networkSecurityGroup } = component.network;
  return {
    properties: {
      addressPrefix: subnet.addressPrefix,
      networkSecurityGroup: { id: networkSecurityGroup.id },
      // Service endpoints let the key vault and the backup account admit this subnet by name.
      serviceEndpoints: [{ service: 'Microsoft.KeyVault' }, { service: 'Microsoft.Storage' }],
    },
  };
}

/** True when the group has exactly the plan's rules, each with the plan's settings (Azure adds its own fields beside them). */
function rulesMatch(existing: ArmBody, rules: readonly AzureSecurityRule[]): boolean {
  const current = (existing.properties?.['securityRules'] ?? []) as ReadonlyArray<{ name?: string; properties?: Record<string, unknown> }>;
  if (current.length !== rules.length) return false;
  return rules.every((rule) => {
    const found = current.find((candidate) => candidate.name === rule.name);
    return (
      found !== undefined &&
      Object.entries(rule.properties).every(([key, value]) => JSON.stringify(found.properties?.[key]) === JSON.stringify(value))
    );
  });
}
