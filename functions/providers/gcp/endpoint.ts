import type { ClusterEndpoint, NodeRef } from '../provider.ts';
import { requireIpv4 } from '../command-output.ts';
import { body } from './clients.ts';
import type { GcpContext } from './clients.ts';
import { call, found, isNotFound } from './errors.ts';
import { change, lastSegment } from './operations.ts';

// A Patroni cluster's one address on Google Cloud: an internal passthrough Network Load Balancer
// (gcp-json's endpoint) whose backend, an unmanaged instance group of the nodes, is healthy only on
// the node where Patroni's /primary answers 200. Made after the nodes and before configure, since
// the servers' certificates name its address; each part is found by its name, and the group is
// converged to the nodes. Teardown removes it front to back.

const nameOf = (resource: Record<string, unknown>): string => String(resource['name']);

/** Creates what is missing and adds the nodes the group lacks; the forwarding rule's address, or undefined for a component without an endpoint. */
export async function ensureEndpoint(context: GcpContext, nodes: readonly NodeRef[]): Promise<ClusterEndpoint | undefined> {
  const { component, project, region, zone, clients } = context;
  const endpoint = component.endpoint;
  if (!endpoint) return undefined;
  const healthCheck = nameOf(endpoint.healthCheck);
  if (!(await found('compute.regionHealthChecks.get', () => clients.healthChecks.get({ project, region, healthCheck }))))
    await change(context, 'compute.regionHealthChecks.insert', () =>
      clients.healthChecks.insert({ project, region, healthCheckResource: body(endpoint.healthCheck) }),
    );
  const instanceGroup = nameOf(endpoint.instanceGroup);
  if (!(await found('compute.instanceGroups.get', () => clients.instanceGroups.get({ project, zone, instanceGroup }))))
    await change(context, 'compute.instanceGroups.insert', () =>
      clients.instanceGroups.insert({ project, zone, instanceGroupResource: body(endpoint.instanceGroup) }),
    );
  const [members] = await call('compute.instanceGroups.listInstances', () =>
    clients.instanceGroups.listInstances({ project, zone, instanceGroup, instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' } }),
  );
  const present = new Set(members.map((member) => lastSegment(member.instance)));
  const missing = nodes
    .filter((node) => !present.has(node.nodeId))
    .map((node) => ({ instance: `projects/${project}/zones/${zone}/instances/${node.nodeId}` }));
  if (missing.length > 0)
    await change(context, 'compute.instanceGroups.addInstances', () =>
      clients.instanceGroups.addInstances({ project, zone, instanceGroup, instanceGroupsAddInstancesRequestResource: { instances: missing } }),
    );
  const backendService = nameOf(endpoint.backendService);
  if (!(await found('compute.regionBackendServices.get', () => clients.backendServices.get({ project, region, backendService }))))
    await change(context, 'compute.regionBackendServices.insert', () =>
      clients.backendServices.insert({ project, region, backendServiceResource: body(endpoint.backendService) }),
    );
  return describeEndpoint(context, true);
}

/** The forwarding rule's address; with `create`, the rule is made when missing. Undefined when there is none. */
export async function describeEndpoint(context: GcpContext, create = false): Promise<ClusterEndpoint | undefined> {
  const { component, project, region, clients } = context;
  const endpoint = component.endpoint;
  if (!endpoint) return undefined;
  const forwardingRule = nameOf(endpoint.forwardingRule);
  const get = () => found('compute.forwardingRules.get', async () => (await clients.forwardingRules.get({ project, region, forwardingRule }))[0]);
  let rule = await get();
  if (!rule && create) {
    await change(context, 'compute.forwardingRules.insert', () =>
      clients.forwardingRules.insert({ project, region, forwardingRuleResource: body(endpoint.forwardingRule) }),
    );
    rule = await get();
  }
  if (!rule) return undefined;
  return { host: requireIpv4(rule.IPAddress ?? undefined, `the load balancer ${forwardingRule}`), port: endpoint.port };
}

/** Removes the forwarding rule, the backend service, the instance group and the health check; ones already gone are fine. */
export async function removeEndpoint(context: GcpContext): Promise<void> {
  const { component, project, region, zone, clients } = context;
  const endpoint = component.endpoint;
  if (!endpoint) return;
  const gone = async (remove: () => Promise<void>) => {
    try {
      await remove();
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };
  await gone(() =>
    change(context, 'compute.forwardingRules.delete', () =>
      clients.forwardingRules.delete({ project, region, forwardingRule: nameOf(endpoint.forwardingRule) }),
    ),
  );
  await gone(() =>
    change(context, 'compute.regionBackendServices.delete', () =>
      clients.backendServices.delete({ project, region, backendService: nameOf(endpoint.backendService) }),
    ),
  );
  await gone(() =>
    change(context, 'compute.instanceGroups.delete', () =>
      clients.instanceGroups.delete({ project, zone, instanceGroup: nameOf(endpoint.instanceGroup) }),
    ),
  );
  await gone(() =>
    change(context, 'compute.regionHealthChecks.delete', () =>
      clients.healthChecks.delete({ project, region, healthCheck: nameOf(endpoint.healthCheck) }),
    ),
  );
}
