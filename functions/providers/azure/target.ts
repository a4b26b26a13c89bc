import type { DeployTarget, NodeRef } from '../provider.ts';
import { PermanentError } from '../errors.ts';

// What the Azure provider reads from a deploy target: the subscription, resource group and region
// the plan deploys to, and the Azure resource id each node is known by.

export interface AzureTarget {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly region: string;
}

export function azureTargetOf(target: DeployTarget): AzureTarget {
  const { target: where } = target;
  if (where.cloud !== 'azure') throw new PermanentError(`plan ${target.planId} targets ${where.cloud}, not Azure`);
  return { subscriptionId: where.subscriptionId, resourceGroup: where.resourceGroup, region: where.region };
}

const VM_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]+)$/i;

/** The resource group and name of a node's VM; a node of another subscription or resource group is refused. */
export function vmOf(where: AzureTarget, node: Pick<NodeRef, 'nodeId' | 'name'>): { resourceGroup: string; name: string } {
  const match = VM_ID.exec(node.nodeId);
  if (!match || match[1] !== where.subscriptionId || match[2]?.toLowerCase() !== where.resourceGroup.toLowerCase()) {
    throw new PermanentError(`node ${node.name} (${node.nodeId}) is not a VM of resource group ${where.resourceGroup}`);
  }
  return { resourceGroup: match[2], name: match[3]! };
}

/** The last segment of a resource id: the resource's name. */
export const nameOf = (id: string): string => id.slice(id.lastIndexOf('/') + 1);

/**
 * What a request does, as the RBAC action it needs and the resource's name
 * (`Microsoft.Network/networkSecurityGroups/write cs-p-1-db`): every error message starts with it.
 */
export function operationOn(id: string, verb: 'read' | 'write' | 'delete'): string {
  const providers = id.lastIndexOf('/providers/');
  if (providers < 0)
    return `Microsoft.Resources/${id.includes('/resourceGroups/') ? 'subscriptions/resourceGroups' : 'subscriptions'}/${verb} ${nameOf(id)}`;
  const [namespace = '', ...rest] = id.slice(providers + '/providers/'.length).split('/');
  const types = rest.filter((_, index) => index % 2 === 0);
  return `${[namespace, ...types].join('/')}/${verb} ${nameOf(id)}`;
}
