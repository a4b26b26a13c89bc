import { generateKeyPairSync } from 'node:crypto';
import { ADMIN_USERNAME } from '@cloudseed/shared/targets/azure/azure-json';
import type { AzureResource } from '@cloudseed/shared/targets/azure/azure-json';
import type { NodeRole } from '@cloudseed/shared';
import type { NodeHealth, NodeRef, Progress } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { deleteResource, ensureResource, readResource, updateResource, waitProvisioned, writeResource } from './arm.ts';
import type { ArmBody } from './arm.ts';
import type { AzureContext } from './clients.ts';
import { call, found } from './errors.ts';
import { ensureVault } from './secrets.ts';
import { nameOf, operationOn, vmOf } from './target.ts';

// The nodes on Azure: zonal VMs with a private address only, reached through the VM agent (Run
// Command), each with the component's user-assigned identity, which may read the component's
// vault and write the plan's backups. Launching creates what a VM refers to, in the order
// azure-json gives: the backup account and container (kept when the plan goes), the identity and
// its role assignments, the load balancer of a Patroni cluster, the NICs, then the VMs. Each is
// looked up first and created only when missing, so a launch that runs again sends no write for
// what exists. A VM is not waited for: nodesReady polls it. A VM that exists is converged to the
// plan: its data disk grown, its size changed in place.

const ROLE_TAG = 'cloudseed-role';
const DISK_API_VERSION = '2024-03-02';

export async function launchNodes(context: AzureContext): Promise<NodeRef[]> {
  const { component } = context;
  await ensureBackupStorage(context);
  // One of the identity's role assignments is on the vault, which ensurePassword makes: a launch on its own makes it too.
  await ensureVault(context);
  const principalId = await ensureIdentity(context);
  for (const assignment of component.identity.roleAssignments) await ensureRoleAssignment(context, assignment, principalId);
  const { loadBalancer } = component.network;
  if (loadBalancer) await ensureResource(context, loadBalancer.id, loadBalancer.apiVersion, loadBalancer.body);
  const nodes: NodeRef[] = [];
  const existing: { machine: AzureResource; body: ArmBody; role: NodeRole }[] = [];
  for (const [index, node] of component.nodes.entries()) {
    const host = await ensureNetworkInterface(context, index);
    const machine = component.virtualMachines[index]!;
    const body = await readResource(context, machine.id, machine.apiVersion);
    if (body) existing.push({ machine, body, role: node.role });
    else await writeResource(context, machine.id, machine.apiVersion, withSshKey(machine.body));
    nodes.push({ name: node.name, role: node.role, nodeId: machine.id, host, port: component.postgres.port });
  }
  // Replicas first: a cluster keeps its primary serving while they are resized.
  for (const { machine, body } of existing.sort((a, b) => Number(a.role === 'primary') - Number(b.role === 'primary'))) {
    await growDataDisk(context, machine, body);
    await resizeMachine(context, machine, body);
  }
  return nodes;
}

const propertiesOf = (body: Record<string, unknown>): Record<string, unknown> | undefined => (body as ArmBody).properties;

const vmSizeOf = (body: Record<string, unknown>): string => {
  const size = (propertiesOf(body)?.['hardwareProfile'] as { vmSize?: unknown } | undefined)?.vmSize;
  return typeof size === 'string' ? size : '';
};

/** Arm (Dps v5) and x86 sizes boot different images: a node cannot move between them in place. */
const isArm = (size: string) => /^Standard_D\d+p/i.test(size);

/**
 * A VM that exists must have the size the plan describes: one of another size is deallocated,
 * given the new size and started again (a restart of that node; its disks stay). A VM an earlier
 * attempt left deallocated is started.
 */
async function resizeMachine(context: AzureContext, machine: AzureResource, current: ArmBody): Promise<void> {
  const wanted = vmSizeOf(machine.body);
  const running = vmSizeOf(current);
  const view = await virtualMachine(context, { name: nameOf(machine.id), role: 'replica', nodeId: machine.id, host: '', port: 0 });
  const deallocated = view !== undefined && powerStateOf(view) === 'deallocated';
  if (wanted === running && !deallocated) return;
  if (wanted !== running && isArm(wanted) !== isArm(running))
    throw new PermanentError(
      `node ${nameOf(machine.id)} runs on ${running}, and the plan now asks for ${wanted}: a node cannot move between Arm and x86 in place, since they boot different images; deploy the plan as a new one instead`,
    );
  const { resourceGroup } = context.where;
  const name = nameOf(machine.id);
  const options = { updateIntervalInMs: context.waits.pollIntervalMs };
  const { virtualMachines } = context.clients.compute;
  if (!deallocated)
    await call(operationOn(machine.id, 'write'), async () => (await virtualMachines.beginDeallocate(resourceGroup, name, options)).pollUntilDone());
  if (wanted !== running) {
    const patched = await updateResource(context, machine.id, machine.apiVersion, { properties: { hardwareProfile: { vmSize: wanted } } });
    await waitProvisioned(context, machine.id, machine.apiVersion, patched);
  }
  await call(operationOn(machine.id, 'write'), async () => (await virtualMachines.beginStart(resourceGroup, name, options)).pollUntilDone());
}

/**
 * Grows the VM's data disk to the plan's size, online (configure then grows its file system); a
 * plan that asks for less than the disk has is refused: disks only grow.
 */
async function growDataDisk(context: AzureContext, machine: AzureResource, current: ArmBody): Promise<void> {
  type DataDisk = { name?: string; diskSizeGB?: number; managedDisk?: { id?: string } };
  const planned = ((propertiesOf(machine.body)?.['storageProfile'] as { dataDisks?: DataDisk[] } | undefined)?.dataDisks ?? [])[0];
  const attached = ((current.properties?.['storageProfile'] as { dataDisks?: DataDisk[] } | undefined)?.dataDisks ?? [])[0];
  const diskId =
    attached?.managedDisk?.id ??
    (attached?.name ? `${machine.id.slice(0, machine.id.indexOf('/providers/'))}/providers/Microsoft.Compute/disks/${attached.name}` : undefined);
  if (!planned?.diskSizeGB || !attached || !diskId) throw new PermanentError(`node ${nameOf(machine.id)} has no data disk of a known size`);
  const disk = await readResource(context, diskId, DISK_API_VERSION);
  const size = Number(disk?.properties?.['diskSizeGB'] ?? attached.diskSizeGB);
  if (!Number.isFinite(size)) throw new PermanentError(`node ${nameOf(machine.id)} has no data disk of a known size`);
  if (planned.diskSizeGB < size)
    throw new PermanentError(
      `the data disk of node ${nameOf(machine.id)} is ${size} GiB but the plan asks for ${planned.diskSizeGB} GiB: disks only grow. Plan at least ${size} GiB`,
    );
  if (planned.diskSizeGB > size) {
    const patched = await updateResource(context, diskId, DISK_API_VERSION, { properties: { diskSizeGB: planned.diskSizeGB } });
    await waitProvisioned(context, diskId, DISK_API_VERSION, patched);
  }
}

/** The component's nodes whose VM runs now, with the private address of each one's NIC, in the roles they were deployed with. */
export async function runningNodes(context: AzureContext): Promise<NodeRef[]> {
  const { component } = context;
  const running: NodeRef[] = [];
  for (const [index, node] of component.nodes.entries()) {
    const ref: NodeRef = { name: node.name, role: node.role, nodeId: component.virtualMachines[index]!.id, port: component.postgres.port };
    const machine = await virtualMachine(context, ref);
    if (!machine || powerStateOf(machine) !== 'running') continue;
    const card = component.network.networkInterfaces[index]!;
    const body = await readResource(context, card.id, card.apiVersion);
    const configurations = (body?.properties?.['ipConfigurations'] ?? []) as ReadonlyArray<{ properties?: { privateIPAddress?: string } }>;
    const host = configurations[0]?.properties?.privateIPAddress;
    if (!host) throw new TransientError(`${operationOn(card.id, 'read')} has no private address`);
    running.push({ ...ref, host });
  }
  return running;
}

/**
 * Deallocates the nodes' VMs: a deallocated VM is billed for its disks only (one merely powered off
 * still is for its compute, so it is deallocated too). The deallocation is not waited for: the
 * workflow asks again until every one is deallocated.
 */
export async function stopNodes(context: AzureContext, nodes: readonly NodeRef[]): Promise<Progress> {
  const { component } = context;
  const { resourceGroup } = context.where;
  const waiting: string[] = [];
  for (const node of nodes) {
    const index = component.nodes.findIndex((candidate) => candidate.name === node.name);
    const id = component.virtualMachines[index]?.id;
    if (index < 0 || !id) return { state: 'failed', reason: `node ${node.name} is not a node of ${component.id}` };
    const machine = await virtualMachine(context, { ...node, nodeId: id });
    if (!machine) return { state: 'failed', reason: `node ${node.name} has no virtual machine to stop` };
    const power = powerStateOf(machine) ?? 'unknown';
    if (power === 'deallocated') continue;
    if (power === 'running' || power === 'stopped')
      await call(operationOn(id, 'write'), () => context.clients.compute.virtualMachines.beginDeallocate(resourceGroup, nameOf(id)));
    waiting.push(`${node.name} ${power === 'running' || power === 'stopped' ? 'deallocating' : power}`);
  }
  return waiting.length === 0 ? { state: 'done' } : { state: 'pending', detail: waiting.join(', ') };
}

/** Running, and the VM agent (Run Command's channel) ready on every node. */
export async function nodesReady(context: AzureContext, nodes: readonly NodeRef[]): Promise<Progress> {
  if (nodes.length === 0) return { state: 'failed', reason: 'there are no nodes to wait for' };
  let ready = 0;
  const waiting: string[] = [];
  for (const node of nodes) {
    const machine = await virtualMachine(context, node);
    if (!machine) return { state: 'failed', reason: `node ${node.name} does not exist` };
    const errors = (machine.instanceView?.statuses ?? []).filter((status) => status.level === 'Error');
    if (machine.provisioningState === 'Failed') {
      const why = errors.map((status) => [status.code, status.message].filter(Boolean).join(': ')).join('; ');
      return { state: 'failed', reason: `node ${node.name} failed to provision${why ? `: ${why}` : ''}` };
    }
    const power = powerStateOf(machine);
    const agent = machine.instanceView?.vmAgent?.statuses?.[0]?.displayStatus;
    if (machine.provisioningState === 'Succeeded' && power === 'running' && agent === 'Ready') ready += 1;
    else waiting.push(`${node.name} ${machine.provisioningState ?? 'provisioning'}, ${power ?? 'no power state'}, agent ${agent ?? 'not reporting'}`);
  }
  if (ready === nodes.length) return { state: 'done' };
  return { state: 'pending', detail: `${ready} of ${nodes.length} nodes ready (${waiting.join('; ')})` };
}

/** Each node's power state; its role is the one it was launched with (its cloudseed-role tag). */
export async function health(context: AzureContext, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
  const result: NodeHealth[] = [];
  for (const node of nodes) {
    const machine = await virtualMachine(context, node);
    const tagged = machine?.tags?.[ROLE_TAG];
    const role: NodeRole = tagged === 'primary' || tagged === 'replica' ? tagged : node.role;
    const power = machine ? powerStateOf(machine) : undefined;
    result.push({
      name: node.name,
      role,
      healthy: power === 'running',
      ...(power === 'running' ? {} : { detail: machine ? `the VM is ${power ?? 'in no known power state'}` : 'the VM does not exist' }),
    });
  }
  return result;
}

/** Deletes the VMs (their disks and NICs go with them: deleteOption Delete), then whatever NIC and load balancer is left. */
export async function removeNodes(context: AzureContext, signal: AbortSignal): Promise<void> {
  const { component } = context;
  await Promise.all(component.virtualMachines.map((machine) => deleteResource(context, machine.id, machine.apiVersion, signal)));
  for (const card of component.network.networkInterfaces) await deleteResource(context, card.id, card.apiVersion, signal);
  const { loadBalancer } = component.network;
  if (loadBalancer) await deleteResource(context, loadBalancer.id, loadBalancer.apiVersion, signal);
}

/** The role assignments, then the identity they name. */
export async function removeIdentity(context: AzureContext, signal: AbortSignal): Promise<void> {
  const { identity } = context.component;
  for (const assignment of identity.roleAssignments) await deleteResource(context, assignment.id, assignment.apiVersion, signal);
  await deleteResource(context, identity.id, identity.apiVersion, signal);
}

/** Takes the component's subnet out of the backup account's network rules; the account and its backups stay. */
export async function releaseBackupStorage(context: AzureContext): Promise<void> {
  const { storageAccount } = context.component.backup;
  const account = await readResource(context, storageAccount.id, storageAccount.apiVersion);
  if (!account) return;
  const subnetId = context.component.network.subnet.id;
  const acls = networkAclsOf(account);
  const rules = acls.virtualNetworkRules.filter((rule) => !sameId(rule.id, subnetId));
  if (rules.length === acls.virtualNetworkRules.length) return;
  await updateResource(context, storageAccount.id, storageAccount.apiVersion, {
    properties: { networkAcls: { ...acls, virtualNetworkRules: rules } },
  });
}

/**
 * The backup account (one per subscription and region, shared by its plans) and its container:
 * created when missing, and otherwise told to admit this component's subnet too, beside the
 * subnets it admits already. Two components admitting theirs at once may overwrite each other's
 * rule: the rule is read back, and a missing one is a TransientError (the launch is retried).
 */
async function ensureBackupStorage(context: AzureContext): Promise<void> {
  const { storageAccount, containerId } = context.component.backup;
  const subnetId = context.component.network.subnet.id;
  const account = await ensureResource(context, storageAccount.id, storageAccount.apiVersion, storageAccount.body);
  const acls = networkAclsOf(account);
  if (!acls.virtualNetworkRules.some((rule) => sameId(rule.id, subnetId))) {
    const rules = [...acls.virtualNetworkRules, { id: subnetId, action: 'Allow' }];
    const patched = await updateResource(context, storageAccount.id, storageAccount.apiVersion, {
      properties: { networkAcls: { ...acls, virtualNetworkRules: rules } },
    });
    await waitProvisioned(context, storageAccount.id, storageAccount.apiVersion, patched);
    const reread = await readResource(context, storageAccount.id, storageAccount.apiVersion);
    if (!reread || !networkAclsOf(reread).virtualNetworkRules.some((rule) => sameId(rule.id, subnetId))) {
      throw new TransientError(`${operationOn(storageAccount.id, 'write')} lost the rule for ${nameOf(subnetId)} to a concurrent change`);
    }
  }
  await ensureResource(context, containerId, storageAccount.apiVersion, { properties: { publicAccess: 'None' } });
}

interface NetworkAcls {
  readonly virtualNetworkRules: ReadonlyArray<{ readonly id: string; readonly action?: string }>;
  readonly [setting: string]: unknown;
}

function networkAclsOf(account: ArmBody): NetworkAcls {
  const acls = (account.properties?.['networkAcls'] ?? {}) as Partial<NetworkAcls>;
  return { ...acls, virtualNetworkRules: acls.virtualNetworkRules ?? [] };
}

// ARM ids are case-insensitive, and Azure answers some of them with other casing than was sent.
const sameId = (left: string, right: string): boolean => left.toLowerCase() === right.toLowerCase();

/** The identity's principal id, which the role assignments name. */
async function ensureIdentity(context: AzureContext): Promise<string> {
  const { identity } = context.component;
  const body = await ensureResource(context, identity.id, identity.apiVersion, identity.body);
  const principalId = body.properties?.['principalId'];
  if (typeof principalId !== 'string') throw new TransientError(`${operationOn(identity.id, 'read')} has no principal id yet`);
  return principalId;
}

async function ensureRoleAssignment(context: AzureContext, assignment: AzureResource, principalId: string): Promise<void> {
  if (await readResource(context, assignment.id, assignment.apiVersion)) return;
  const properties = assignment.body['properties'] as Record<string, unknown>;
  await writeResource(context, assignment.id, assignment.apiVersion, { ...assignment.body, properties: { ...properties, principalId } });
}

/** The NIC of the component's `index`th node, and the private address Azure gave it. */
async function ensureNetworkInterface(context: AzureContext, index: number): Promise<string> {
  const card = context.component.network.networkInterfaces[index]!;
  const body = await ensureResource(context, card.id, card.apiVersion, card.body);
  const configurations = (body.properties?.['ipConfigurations'] ?? []) as ReadonlyArray<{ properties?: { privateIPAddress?: string } }>;
  const address = configurations[0]?.properties?.privateIPAddress;
  if (!address) throw new TransientError(`${operationOn(card.id, 'read')} has no private address yet`);
  return address;
}

/**
 * ARM takes no Linux VM without either a password or an SSH key, and CloudSeed's nodes have neither
 * way in: the key is made here, its public half sent, its private half dropped unseen when this
 * returns. No one ever holds a key that opens the VM (and the security group denies port 22 besides).
 */
function withSshKey(body: AzureResource['body']): AzureResource['body'] {
  const properties = body['properties'] as { osProfile: { linuxConfiguration: Record<string, unknown> } } & Record<string, unknown>;
  const { osProfile } = properties;
  const keyData = ephemeralPublicKey();
  return {
    ...body,
    properties: {
      ...properties,
      osProfile: {
        ...osProfile,
        linuxConfiguration: {
          ...osProfile.linuxConfiguration,
          ssh: { publicKeys: [{ path: `/home/${ADMIN_USERNAME}/.ssh/authorized_keys`, keyData }] },
        },
      },
    },
  };
}

/** An OpenSSH `ssh-ed25519` public key line, whose private key is never kept. */
function ephemeralPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} cloudseed-no-login`;
}

interface MachineView {
  readonly provisioningState?: string;
  readonly tags?: Record<string, string>;
  readonly instanceView?: {
    readonly statuses?: ReadonlyArray<{ code?: string; level?: string; message?: string }>;
    readonly vmAgent?: { readonly statuses?: ReadonlyArray<{ displayStatus?: string }> };
  };
}

async function virtualMachine(context: AzureContext, node: NodeRef): Promise<MachineView | undefined> {
  const { resourceGroup, name } = vmOf(context.where, node);
  return found(operationOn(node.nodeId, 'read'), () => context.clients.compute.virtualMachines.get(resourceGroup, name, { expand: 'instanceView' }));
}

const powerStateOf = (machine: MachineView): string | undefined =>
  machine.instanceView?.statuses?.find((status) => status.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length);
