import type { protos } from '@google-cloud/compute';
import type { GcpFirewall } from '@cloudseed/shared/targets/gcp/index';
import { requestIdFor } from '@cloudseed/shared/targets/gcp/gcp-json';
import type { NetworkRef } from '../provider.ts';
import { body } from './clients.ts';
import type { GcpContext } from './clients.ts';
import { call, found } from './errors.ts';
import { change } from './operations.ts';

// The network boundary on Google Cloud: the plan's own VPC (one subnet with Private Google Access,
// and a Cloud Router with Cloud NAT for the package mirrors), shared by its components, and each
// component's firewall rules, which target the component's service account. Each resource is found
// by its name, which gcp-json derives from the plan; rules are converged to the document: a rule
// that differs is patched, one the component no longer has is deleted.

type Firewall = protos.google.cloud.compute.v1.IFirewall;

const networkNameOf = (context: GcpContext): string => String(context.network.network['name']);

export async function ensureNetwork(context: GcpContext): Promise<NetworkRef> {
  const { project, region, network, clients, target } = context;
  const name = networkNameOf(context);
  const requestId = (what: string) => requestIdFor(`${target.planId}/${what}`);
  if (!(await found('compute.networks.get', () => clients.networks.get({ project, network: name }))))
    await change(context, 'compute.networks.insert', () =>
      clients.networks.insert({ project, requestId: requestId('network'), networkResource: body(network.network) }),
    );
  const subnetwork = String(network.subnetwork['name']);
  if (!(await found('compute.subnetworks.get', () => clients.subnetworks.get({ project, region, subnetwork }))))
    await change(context, 'compute.subnetworks.insert', () =>
      clients.subnetworks.insert({ project, region, requestId: requestId('subnetwork'), subnetworkResource: body(network.subnetwork) }),
    );
  const router = String(network.router['name']);
  if (!(await found('compute.routers.get', () => clients.routers.get({ project, region, router }))))
    await change(context, 'compute.routers.insert', () =>
      clients.routers.insert({ project, region, requestId: requestId('router'), routerResource: body(network.router) }),
    );
  await convergeFirewalls(context);
  return { networkId: `projects/${project}/global/networks/${name}` };
}

/** The rules of the plan's network that target this component's nodes. */
async function componentFirewalls(context: GcpContext): Promise<Firewall[]> {
  const { project, component, clients } = context;
  const [rules] = await call('compute.firewalls.list', () =>
    clients.firewalls.list({ project, filter: `network eq .*/global/networks/${networkNameOf(context)}$` }),
  );
  return rules.filter((rule) => rule.targetServiceAccounts?.includes(component.serviceAccount.email));
}

async function convergeFirewalls(context: GcpContext): Promise<void> {
  const { project, component, clients } = context;
  const existing = new Map((await componentFirewalls(context)).map((rule) => [rule.name ?? '', rule]));
  for (const desired of component.firewalls) {
    const current = existing.get(desired.name);
    existing.delete(desired.name);
    if (!current) {
      await change(context, 'compute.firewalls.insert', () => clients.firewalls.insert({ project, firewallResource: body(desired) }));
    } else if (!sameRule(current, desired)) {
      await change(context, 'compute.firewalls.update', () =>
        clients.firewalls.update({ project, firewall: desired.name, firewallResource: body(desired) }),
      );
    }
  }
  for (const name of existing.keys()) await change(context, 'compute.firewalls.delete', () => clients.firewalls.delete({ project, firewall: name }));
}

/** Does the rule Google has do what the document says? Only the fields gcp-json sets count. */
function sameRule(current: Firewall, desired: GcpFirewall): boolean {
  const sorted = (values: readonly string[] | null | undefined) => [...(values ?? [])].sort().join(',');
  const ports = (entries: readonly { IPProtocol?: string | null; ports?: readonly string[] | null }[] | null | undefined) =>
    (entries ?? [])
      .map((entry) => `${entry.IPProtocol ?? ''}:${sorted(entry.ports)}`)
      .sort()
      .join(';');
  return (
    current.priority === desired.priority &&
    current.direction === desired.direction &&
    sorted(current.sourceRanges) === sorted(desired.sourceRanges) &&
    sorted(current.sourceServiceAccounts) === sorted(desired.sourceServiceAccounts) &&
    sorted(current.targetServiceAccounts) === sorted(desired.targetServiceAccounts) &&
    ports(current.allowed) === ports(desired.allowed) &&
    ports(current.denied) === ports(desired.denied)
  );
}

/**
 * Removes the component's firewall rules, then the plan's network when nothing else of the plan is in
 * it any more (no rule and no instance): the router, the subnet, the VPC.
 */
export async function removeNetwork(context: GcpContext): Promise<void> {
  const { project, region, network, clients } = context;
  for (const rule of await componentFirewalls(context))
    await change(context, 'compute.firewalls.delete', () => clients.firewalls.delete({ project, firewall: rule.name ?? '' }));
  const name = networkNameOf(context);
  const [others] = await call('compute.firewalls.list', () => clients.firewalls.list({ project, filter: `network eq .*/global/networks/${name}$` }));
  const [instances] = await call('compute.instances.list', () =>
    clients.instances.list({ project, zone: context.zone, filter: `labels.cloudseed-plan-id = ${context.target.planId}` }),
  );
  if (others.length > 0 || instances.length > 0) return;
  const router = String(network.router['name']);
  if (await found('compute.routers.get', () => clients.routers.get({ project, region, router })))
    await change(context, 'compute.routers.delete', () => clients.routers.delete({ project, region, router }));
  const subnetwork = String(network.subnetwork['name']);
  if (await found('compute.subnetworks.get', () => clients.subnetworks.get({ project, region, subnetwork })))
    await change(context, 'compute.subnetworks.delete', () => clients.subnetworks.delete({ project, region, subnetwork }));
  if (await found('compute.networks.get', () => clients.networks.get({ project, network: name })))
    await change(context, 'compute.networks.delete', () => clients.networks.delete({ project, network: name }));
}
