import { describe, expect, it } from 'vitest';
import { TransientError } from '../providers/errors.ts';
import { AZURE_PROVIDER_ACTIONS } from '../providers/azure/index.ts';
import type { DeployTarget, NodeRef, Provider } from '../providers/provider.ts';
import { actionOf } from './support/azure-arm.ts';
import type { FakeArm, RecordedRequest } from './support/azure-arm.ts';
import { azureProvider, azureTarget, documentOf, RESOURCE_GROUP, seededArm, SUBSCRIPTION_ID } from './support/azure-fixtures.ts';

// AzureProvider.stopNodes against the in-memory ARM (support/azure-arm.ts): each node's VM is read
// with its instance view; one running, or powered off but still allocated (and so still billed for
// its compute), is deallocated, the deallocation not waited for; the answer is pending until every
// VM is deallocated. A node without a VM fails.

let plans = 0;
const nextPlanId = (): string => `p-stop-${(plans += 1)}`;

interface Deployed {
  readonly arm: FakeArm;
  readonly provider: Provider;
  readonly target: DeployTarget;
  readonly nodes: NodeRef[];
  /** The VMs' resource ids, in the nodes' order. */
  readonly vms: string[];
  /** Where the requests stopNodes sends begin. */
  readonly before: number;
}

/** A primary and a replica, deployed, their VMs running with the agent ready. */
async function deployed(): Promise<Deployed> {
  const arm = seededArm();
  const provider = azureProvider(arm);
  const target = azureTarget(nextPlanId(), { replicas: 1 });
  await provider.preflight(target);
  await provider.ensurePassword(target);
  const nodes = await provider.launchNodes(target, await provider.ensureSecurityGroup(target));
  return { arm, provider, target, nodes, vms: nodes.map((node) => node.nodeId), before: arm.requests.length };
}

const vmId = (name: string) =>
  `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/${name}`;

/** What stopNodes sent: method and path, a VM's read with the instance view it asked for. */
const sentSince = ({ arm, before }: Deployed): string[] =>
  arm.requests.slice(before).map((request) => {
    const expand = new URL(request.url).searchParams.get('$expand');
    return `${request.method} ${request.path}${expand ? ` $expand=${expand}` : ''}`;
  });

const deallocations = ({ arm, before }: Deployed): RecordedRequest[] =>
  arm.requests.slice(before).filter((request) => request.method === 'POST' && request.path.endsWith('/deallocate'));

describe('AzureProvider.stopNodes', () => {
  it('deallocates each running VM once, by resource group and name, and answers pending without waiting for it', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;
    const names = documentOf(target).virtualMachines.map((machine) => machine.id.slice(machine.id.lastIndexOf('/') + 1));
    expect(vms).toEqual(names.map(vmId));
    // Azure answers 202 and an operation to follow: a wait would read it.
    const operation = `https://management.azure.com/subscriptions/${SUBSCRIPTION_ID}/providers/Microsoft.Compute/locations/westeurope/operations/op-stop?api-version=2024-07-01`;
    arm.failures.push({
      method: 'POST',
      path: /\/virtualMachines\/[^/]+\/deallocate$/,
      status: 202,
      headers: { 'Azure-AsyncOperation': operation, Location: operation, 'Retry-After': '0' },
      times: 2,
    });

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 deallocating, db-1 deallocating' });

    expect(sentSince(deploy)).toEqual([
      `GET ${vms[0]!} $expand=instanceView`,
      `POST ${vms[0]!}/deallocate`,
      `GET ${vms[1]!} $expand=instanceView`,
      `POST ${vms[1]!}/deallocate`,
    ]);
    // Deallocated, not hibernated, nor forced (which would skip the guest's shutdown).
    for (const request of deallocations(deploy)) expect([...new URL(request.url).searchParams.keys()]).toEqual(['api-version']);
  });

  it('is done once the VMs are deallocated, and deallocates none again', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 deallocating, db-1 deallocating' });
    expect(vms.map((vm) => arm.vmViews.get(vm)?.power)).toEqual(['deallocated', 'deallocated']);

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'done' });

    expect(deallocations(deploy).map((request) => request.path)).toEqual([`${vms[0]!}/deallocate`, `${vms[1]!}/deallocate`]);
  });

  it('deallocates only the nodes it is given: the replica, not the primary', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;

    expect(await provider.stopNodes(target, [nodes[1]!])).toEqual({ state: 'pending', detail: 'db-1 deallocating' });

    expect(sentSince(deploy)).toEqual([`GET ${vms[1]!} $expand=instanceView`, `POST ${vms[1]!}/deallocate`]);
    expect(vms.map((vm) => arm.vmViews.get(vm)?.power)).toEqual([undefined, 'deallocated']);
  });

  it('deallocates a VM that is powered off but still allocated (PowerState/stopped)', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;
    arm.vmViews.set(vms[0]!, { power: 'stopped' });
    arm.vmViews.set(vms[1]!, { power: 'deallocated' });

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 deallocating' });

    expect(deallocations(deploy).map((request) => request.path)).toEqual([`${vms[0]!}/deallocate`]);
  });

  it('does not ask a deallocating VM again and stays pending, while it deallocates the running one beside it', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;
    arm.vmViews.set(vms[0]!, { power: 'deallocating' });

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail: 'db-0 deallocating, db-1 deallocating' });

    expect(deallocations(deploy).map((request) => request.path)).toEqual([`${vms[1]!}/deallocate`]);
  });

  it.each([
    ['deallocating', 'db-0 deallocating'],
    ['stopping', 'db-0 stopping'],
    ['starting', 'db-0 starting'],
    ['', 'db-0 unknown'],
  ])('sends no deallocation for a VM in power state "%s", and stays pending', async (power, detail) => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;
    arm.vmViews.set(vms[0]!, { power });
    arm.vmViews.set(vms[1]!, { power: 'deallocated' });

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'pending', detail });

    expect(deallocations(deploy)).toEqual([]);
  });

  it('is done, sending only reads, when every VM is deallocated', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes, vms } = deploy;
    for (const vm of vms) arm.vmViews.set(vm, { power: 'deallocated' });

    expect(await provider.stopNodes(target, nodes)).toEqual({ state: 'done' });

    expect(sentSince(deploy)).toEqual(vms.map((vm) => `GET ${vm} $expand=instanceView`));
  });

  it('fails, naming the node, when its VM does not exist, and sends no deallocation', async () => {
    const arm = seededArm();
    const provider = azureProvider(arm);
    const target = azureTarget(nextPlanId(), { replicas: 1 });
    const [, replica] = documentOf(target).virtualMachines;
    const node: NodeRef = { name: 'db-1', role: 'replica', nodeId: replica!.id, port: 5432 };

    expect(await provider.stopNodes(target, [node])).toEqual({ state: 'failed', reason: 'node db-1 has no virtual machine to stop' });

    expect(arm.requests.map((request) => `${request.method} ${request.path}`)).toEqual([`GET ${replica!.id}`]);
  });

  it('fails for a node the component does not have, before asking Azure', async () => {
    const deploy = await deployed();
    const { provider, target, vms } = deploy;
    const stranger: NodeRef = { name: 'db-7', role: 'replica', nodeId: vms[1]!, port: 5432 };

    expect(await provider.stopNodes(target, [stranger])).toEqual({ state: 'failed', reason: 'node db-7 is not a node of db' });

    expect(sentSince(deploy)).toEqual([]);
  });

  it('is done at once for no nodes, without calling Azure', async () => {
    const deploy = await deployed();

    expect(await deploy.provider.stopNodes(deploy.target, [])).toEqual({ state: 'done' });

    expect(sentSince(deploy)).toEqual([]);
  });

  it('surfaces a deallocation Azure throttles past the retries as a TransientError', async () => {
    const deploy = await deployed();
    const { arm, provider, target, nodes } = deploy;
    arm.failures.push({ method: 'POST', path: /\/deallocate$/, status: 429, code: 'TooManyRequests', headers: { 'Retry-After': '0' } });

    await expect(provider.stopNodes(target, nodes)).rejects.toThrow(TransientError);
  });

  it('sends only requests AZURE_PROVIDER_ACTIONS allows', async () => {
    const deploy = await deployed();
    const { provider, target, nodes } = deploy;

    await provider.stopNodes(target, nodes);
    await provider.stopNodes(target, nodes);

    const sent = new Set(deploy.arm.requests.slice(deploy.before).map(actionOf));
    expect([...sent].sort()).toEqual(['Microsoft.Compute/virtualMachines/deallocate/action', 'Microsoft.Compute/virtualMachines/read']);
    for (const action of sent) expect(AZURE_PROVIDER_ACTIONS).toContain(action);
  });
});
