import type { protos } from '@google-cloud/compute';
import { AGENT_READY_KEY, GUEST_NAMESPACE } from '@cloudseed/shared/targets/gcp/agent';
import type { NodeHealth, NodeRef, Progress } from '../provider.ts';
import { AccountAccessError, PermanentError, TransientError } from '../errors.ts';
import { isDeepStrictEqual } from 'node:util';
import type { Bucket } from '@google-cloud/storage';
import type { GcsLifecycleRule } from '@cloudseed/shared/targets/gcp/gcp-json';
import { requireIpv4 } from '../command-output.ts';
import { body } from './clients.ts';
import type { GcpContext } from './clients.ts';
import { call, found, isAlreadyExists, isNotFound } from './errors.ts';
import { change, lastSegment } from './operations.ts';

// The nodes on Google Cloud: a service account of the component's own (no project role; it is
// granted its secrets and its backup prefix, nothing else), the project's backup bucket in the
// region with the component's conditional binding, and one Compute Engine instance per node, made
// from the instances.insert body gcp-json renders. Instances are found by name (gcp-json's), and an
// insert carries the document's request id, so a retried launch converges.

type Instance = protos.google.cloud.compute.v1.IInstance;

/** How an instance's state reads in Compute Engine's words, and which ones mean the node is gone or going. */
const GONE_OR_GOING = new Set(['STOPPING', 'STOPPED', 'SUSPENDING', 'SUSPENDED', 'TERMINATED']);
const POSTGRES_PORT = 5432;
/** The data disk's device name in gcp-json (the node sees it as /dev/disk/by-id/google-pgdata). */
const DATA_DEVICE = 'pgdata';

export function nodeLabel(node: NodeRef): string {
  return `${node.name} (${node.nodeId})`;
}

const instanceNameOf = (insert: { readonly instanceResource: Record<string, unknown> }): string => String(insert.instanceResource['name']);

export async function launchNodes(context: GcpContext): Promise<NodeRef[]> {
  const { project, zone, component, clients } = context;
  await ensureServiceAccount(context);
  await ensureBackupAccess(context);
  const nodes: NodeRef[] = [];
  // Replicas first: a cluster keeps its primary serving while they are resized.
  for (const insert of [...component.instances].sort((a, b) => Number(isPrimary(a)) - Number(isPrimary(b)))) {
    const instance = instanceNameOf(insert);
    const current = await found('compute.instances.get', async () => (await clients.instances.get({ project, zone, instance }))[0]);
    if (current) await resizeMachine(context, current, insert.instanceResource);
  }
  for (const insert of component.instances) {
    const instance = instanceNameOf(insert);
    let current = await found('compute.instances.get', async () => (await clients.instances.get({ project, zone, instance }))[0]);
    if (current) {
      await growDataDisk(context, current, insert.instanceResource);
    } else {
      try {
        await change(context, 'compute.instances.insert', () =>
          clients.instances.insert({ project, zone, requestId: insert.requestId, instanceResource: body(insert.instanceResource) }),
        );
      } catch (error) {
        // IAM has made the service account a moment ago and Compute Engine does not see it yet: a retry will.
        if (error instanceof PermanentError && error.message.includes(component.serviceAccount.email))
          throw new TransientError(`${error.message} (a service account that was just created takes a moment to be seen)`, { cause: error });
        throw error;
      }
      [current] = await call('compute.instances.get', () => clients.instances.get({ project, zone, instance }));
    }
    nodes.push(nodeRefOf(current));
  }
  return nodes;
}

const isPrimary = (insert: { readonly instanceResource: Record<string, unknown> }) =>
  (insert.instanceResource['labels'] as Record<string, string> | undefined)?.['cloudseed-role'] === 'primary';

/** Arm (t2a) and x86 machines boot different images: a node cannot move between them in place. */
const isArm = (machineType: string) => machineType.startsWith('t2a-');

/**
 * An instance that exists must run the machine type the plan describes: a node of another type is
 * stopped, given the new type and started again (a restart of that node; its disks stay). One
 * stopped part-way by an earlier attempt is carried on from where it was.
 */
async function resizeMachine(context: GcpContext, current: Instance, desired: Record<string, unknown>): Promise<void> {
  const { project, zone, clients } = context;
  const instance = current.name ?? '';
  const wanted = lastSegment(String(desired['machineType'])) ?? '';
  const running = lastSegment(current.machineType) ?? '';
  const stopped = current.status === 'TERMINATED' || current.status === 'STOPPED';
  if (wanted === running && !stopped) return;
  if (wanted !== running && isArm(wanted) !== isArm(running))
    throw new PermanentError(
      `node ${instance} runs on ${running}, and the plan now asks for ${wanted}: a node cannot move between Arm and x86 in place, since they boot different images; deploy the plan as a new one instead`,
    );
  if (!stopped) await change(context, 'compute.instances.stop', () => clients.instances.stop({ project, zone, instance }));
  if (wanted !== running)
    await change(context, 'compute.instances.setMachineType', () =>
      clients.instances.setMachineType({
        project,
        zone,
        instance,
        instancesSetMachineTypeRequestResource: { machineType: String(desired['machineType']) },
      }),
    );
  await change(context, 'compute.instances.start', () => clients.instances.start({ project, zone, instance }));
}

/**
 * Grows the node's data disk to the plan's size, online (configure then grows its file system);
 * a plan that asks for less than the disk has is refused: disks only grow.
 */
async function growDataDisk(context: GcpContext, current: Instance, desired: Record<string, unknown>): Promise<void> {
  const { project, zone, clients } = context;
  const plannedDisks = desired['disks'] as { deviceName?: string; initializeParams: { diskSizeGb: string } }[];
  const planned = Number(plannedDisks.find((disk) => disk.deviceName === DATA_DEVICE)?.initializeParams.diskSizeGb);
  const attached = current.disks?.find((disk) => disk.deviceName === DATA_DEVICE);
  const size = Number(attached?.diskSizeGb);
  const disk = lastSegment(attached?.source);
  if (!attached || !disk || !Number.isFinite(size) || !Number.isFinite(planned))
    throw new PermanentError(`node ${current.name} has no data disk ${DATA_DEVICE} of a known size`);
  if (planned < size)
    throw new PermanentError(
      `the data disk of node ${current.name} is ${size} GiB but the plan asks for ${planned} GiB: disks only grow. Plan at least ${size} GiB`,
    );
  if (planned > size)
    await change(context, 'compute.disks.resize', () =>
      clients.disks.resize({ project, zone, disk, disksResizeRequestResource: { sizeGb: String(planned) } }),
    );
}

export function nodeRefOf(instance: Instance): NodeRef {
  const labels = instance.labels ?? {};
  const name = labels['cloudseed-node'];
  const role = labels['cloudseed-role'];
  if (!name || (role !== 'primary' && role !== 'replica'))
    throw new PermanentError(`instance ${instance.name} is not labelled with the node and role CloudSeed gave it`);
  const host = requireIpv4(instance.networkInterfaces?.[0]?.networkIP ?? undefined, `instance ${instance.name}`);
  return { name, role: role, nodeId: instance.name ?? '', host, port: POSTGRES_PORT };
}

async function ensureServiceAccount({ project, component, clients }: GcpContext): Promise<void> {
  const { accountId, displayName, email } = component.serviceAccount;
  if (await clients.serviceAccounts.get(project, email)) return;
  try {
    await clients.serviceAccounts.create(project, accountId, displayName);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/**
 * The project's backup bucket in the region (made by the first plan that needs it; a 409 means it is
 * there) and this component's binding on it, conditioned to its own prefixes. The bucket policy is
 * read and written at version 3, which conditions need; an etag guards the write.
 */
async function ensureBackupAccess({ component, clients }: GcpContext): Promise<void> {
  const { name, request, iamBinding, lifecycleRule } = component.backup.bucket;
  const { name: _name, ...metadata } = body(request);
  try {
    await call('storage.buckets.insert', () => clients.storage.createBucket(name, metadata));
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    await ensureLifecycleRule(clients.storage.bucket(name), lifecycleRule);
  }
  const iam = clients.storage.bucket(name).iam;
  const [policy] = await call('storage.buckets.getIamPolicy', () => iam.getPolicy({ requestedPolicyVersion: 3 }));
  const bindings = policy.bindings ?? [];
  const title = iamBinding.condition?.title;
  if (bindings.some((binding) => binding.role === iamBinding.role && (binding.condition as { title?: string } | undefined)?.title === title)) return;
  await call('storage.buckets.setIamPolicy', () => iam.setPolicy({ ...policy, version: 3, bindings: [...bindings, body(iamBinding)] }));
}

/**
 * A bucket made before `rule` existed gets it beside its own rules. A connection whose role predates
 * the bucket permissions this takes is not stopped from deploying: the rule only keeps old versions
 * of metrics files from piling up, and verifying the connection names what the role lacks.
 */
async function ensureLifecycleRule(bucket: Bucket, rule: GcsLifecycleRule): Promise<void> {
  try {
    const [metadata] = await call('storage.buckets.get', () => bucket.getMetadata());
    const rules = metadata.lifecycle?.rule ?? [];
    if (rules.some((existing) => isDeepStrictEqual(existing, rule))) return;
    await call('storage.buckets.update', () => bucket.setMetadata({ lifecycle: { rule: [...rules, body(rule)] } }));
  } catch (error) {
    if (!(error instanceof AccountAccessError)) throw error;
  }
}

/** Running, and the node's agent has said it takes commands (its guest attribute). */
export async function nodesReady(context: GcpContext, nodes: readonly NodeRef[]): Promise<Progress> {
  const { project, zone, clients } = context;
  if (nodes.length === 0) return { state: 'failed', reason: 'there are no nodes to wait for' };
  let ready = 0;
  for (const node of nodes) {
    const instance = await found('compute.instances.get', async () => (await clients.instances.get({ project, zone, instance: node.nodeId }))[0]);
    if (!instance) return { state: 'failed', reason: `node ${nodeLabel(node)} does not exist` };
    const status = instance.status ?? 'UNKNOWN';
    if (GONE_OR_GOING.has(status)) return { state: 'failed', reason: `node ${nodeLabel(node)} is ${status.toLowerCase()}` };
    if (status === 'RUNNING' && (await agentAttributes(context, node.nodeId, AGENT_READY_KEY)).get(AGENT_READY_KEY) === 'ready') ready += 1;
  }
  if (ready === nodes.length) return { state: 'done' };
  return { state: 'pending', detail: `${ready} of ${nodes.length} nodes running with their agent ready` };
}

/** The agent's guest attributes on an instance under `path` (a key, or '' for all), keyed without the namespace; none yet is an empty map. */
export async function agentAttributes(context: GcpContext, instance: string, path = ''): Promise<Map<string, string>> {
  const { project, zone, clients } = context;
  const answer = await found(
    'compute.instances.getGuestAttributes',
    async () => (await clients.instances.getGuestAttributes({ project, zone, instance, queryPath: `${GUEST_NAMESPACE}/${path}` }))[0],
  );
  const items = answer?.queryValue?.items ?? [];
  return new Map(items.filter((item) => item.namespace === GUEST_NAMESPACE).map((item) => [item.key ?? '', item.value ?? '']));
}

/**
 * Each node's instance state; in a Patroni cluster also who leads now, as the load balancer sees it:
 * its health check passes only where Patroni's /primary answers, so after a failover the node that
 * passes is the primary and the others are replicas. With no node passing, the cluster has no
 * leader, and the node recorded as primary is reported so.
 */
export async function health(context: GcpContext, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
  const { project, zone, clients } = context;
  const leaders = context.component.endpoint ? await leadersOf(context) : undefined;
  const leader = leaders?.length === 1 ? leaders[0] : undefined;
  const result: NodeHealth[] = [];
  for (const node of nodes) {
    const instance = await found('compute.instances.get', async () => (await clients.instances.get({ project, zone, instance: node.nodeId }))[0]);
    const status = instance?.status ?? undefined;
    const role = leader === undefined ? node.role : leader === node.nodeId ? 'primary' : 'replica';
    if (!instance) result.push({ name: node.name, role, healthy: false, detail: 'the instance does not exist' });
    else if (status !== 'RUNNING') result.push({ name: node.name, role, healthy: false, detail: `the instance is ${String(status).toLowerCase()}` });
    else if (leaders?.length === 0 && role === 'primary')
      result.push({
        name: node.name,
        role,
        healthy: false,
        detail: "no node passes the load balancer's check of Patroni's /primary: the cluster has no leader now",
      });
    else result.push({ name: node.name, role, healthy: true });
  }
  return result;
}

/** The instances the load balancer finds healthy (Patroni's /primary answers there); undefined while it does not exist yet. */
export async function leadersOf(context: GcpContext): Promise<string[] | undefined> {
  const { project, region, zone, clients, component } = context;
  const endpoint = component.endpoint!;
  const group = `projects/${project}/zones/${zone}/instanceGroups/${String(endpoint.instanceGroup['name'])}`;
  const answer = await found('compute.regionBackendServices.getHealth', async () =>
    clients.backendServices.getHealth({
      project,
      region,
      backendService: String(endpoint.backendService['name']),
      resourceGroupReferenceResource: { group },
    }),
  );
  if (!answer) return undefined;
  return (answer[0].healthStatus ?? []).filter((status) => status.healthState === 'HEALTHY').map((status) => lastSegment(status.instance) ?? '');
}

/**
 * Stops the nodes' instances (a stopped instance, TERMINATED in Compute Engine's words, is billed
 * for its disks only). The stop is not waited for: the workflow asks again until every one is stopped.
 */
export async function stopNodes(context: GcpContext, nodes: readonly NodeRef[]): Promise<Progress> {
  const { project, zone, clients, component } = context;
  const waiting: string[] = [];
  for (const node of nodes) {
    const insert = component.instances.find(
      (candidate) => (candidate.instanceResource['labels'] as Record<string, string> | undefined)?.['cloudseed-node'] === node.name,
    );
    if (!insert) return { state: 'failed', reason: `node ${node.name} is not a node of ${component.id}` };
    const instance = instanceNameOf(insert);
    const current = await found('compute.instances.get', async () => (await clients.instances.get({ project, zone, instance }))[0]);
    if (!current) return { state: 'failed', reason: `node ${node.name} has no instance ${instance} to stop` };
    const status = current.status ?? 'UNKNOWN';
    if (status === 'TERMINATED' || status === 'STOPPED') continue;
    if (status === 'SUSPENDED' || status === 'SUSPENDING')
      return { state: 'failed', reason: `instance ${instance} is suspended, not stopped: resume it in the console, then stop the plan again` };
    if (status === 'RUNNING') await call('compute.instances.stop', () => clients.instances.stop({ project, zone, instance }));
    waiting.push(`${node.name} ${status === 'RUNNING' ? 'stopping' : status.toLowerCase()}`);
  }
  return waiting.length === 0 ? { state: 'done' } : { state: 'pending', detail: waiting.join(', ') };
}

/** Deletes every instance of the component, today's nodes or not, and waits until each is gone. */
export async function deleteNodes(context: GcpContext): Promise<void> {
  const { project, zone, clients, target, component } = context;
  const [instances] = await call('compute.instances.list', () =>
    clients.instances.list({ project, zone, filter: `labels.cloudseed-plan-id = ${target.planId} AND labels.cloudseed-component = ${component.id}` }),
  );
  for (const instance of instances) {
    try {
      await change(context, 'compute.instances.delete', () => clients.instances.delete({ project, zone, instance: instance.name ?? '' }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

/** Removes the component's binding on the backup bucket (its backups stay) and its service account. */
export async function removeIdentity({ project, component, clients }: GcpContext): Promise<void> {
  const { name, iamBinding } = component.backup.bucket;
  const iam = clients.storage.bucket(name).iam;
  const [policy] = (await found('storage.buckets.getIamPolicy', () => iam.getPolicy({ requestedPolicyVersion: 3 }))) ?? [];
  const bindings = policy?.bindings ?? [];
  const kept = bindings.filter((binding) => (binding.condition as { title?: string } | undefined)?.title !== iamBinding.condition?.title);
  if (policy && kept.length !== bindings.length)
    await call('storage.buckets.setIamPolicy', () => iam.setPolicy({ ...policy, version: 3, bindings: kept }));
  try {
    await clients.serviceAccounts.delete(project, component.serviceAccount.email);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
