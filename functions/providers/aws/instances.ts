import { createHash } from 'node:crypto';
import {
  DescribeInstancesCommand,
  DescribeInstanceStatusCommand,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { EC2Client, Filter, Instance, InstanceStatus, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import type { AwsNode } from '@cloudseed/shared';
import type { DeployTarget, NetworkRef, NodeHealth, NodeRef, Progress } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import type { AwsContext } from './clients.ts';
import { awsErrorCode, call } from './errors.ts';
import { deleteNodeRole, ensureNodeRole, isProfileNotYetVisible, nodeRoleScope, PROFILE_PROPAGATION } from './node-role.ts';
import { reconcileNodes } from './reconcile.ts';
import { accountOf, componentFilters, TAG_NODE, TAG_PLAN_ID } from './target.ts';

// The component's nodes on AWS: one EC2 instance each, found again by its cloudseed:node tag,
// launched with a ClientToken per deployment and node so a retried launch returns the instance the
// first one started. The instance id is the NodeRef's nodeId.

const TERMINATE_POLL_MS = 10_000;
const TERMINATE_POLLS = 30;
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/;

/** States of an instance that still counts as the node (a stopped one is started again by launchNodes, not replaced). */
const LIVE_STATES = ['pending', 'running', 'stopping', 'stopped'];

/** Deterministic per deployment and node, so a retried RunInstances returns the instance the first call started. */
export function clientToken(target: DeployTarget, nodeName: string): string {
  return createHash('sha256')
    .update(JSON.stringify([target.deploymentId, target.planId, target.component.id, nodeName]))
    .digest('hex');
}

export async function launchNodes(context: AwsContext, network: NetworkRef): Promise<NodeRef[]> {
  const { target, component, clients, clock } = context;
  // Nodes that exist are changed to the plan in place, never replaced: their disks hold the data.
  const existing = await reconcileNodes(clients.ec2, clock, component, await instancesByNode(context));
  const missing = component.nodes.some((node) => !existing.has(node.name));
  const account = accountOf(target);
  // The plan's own node role, made (or brought to the plan's policy) only when a node is launched.
  const profile = missing ? await ensureNodeRole(clients.iam, nodeRoleScope(account.roleArn, account.region, target.planId)) : undefined;
  const nodes: NodeRef[] = [];
  for (const node of component.nodes) {
    const instance = existing.get(node.name) ?? (await runInstance(context, node, network, profile!));
    const host = instance.PublicIpAddress ?? instance.PrivateIpAddress;
    nodes.push({ name: node.name, role: node.role, nodeId: instance.InstanceId!, ...(host ? { host } : {}), port: component.postgres.port });
  }
  return nodes;
}

/**
 * Stops the nodes' instances; their EBS volumes stay, and a stopped instance is billed for them
 * only. The instances are found by their node tags, as launchNodes finds them (which starts them
 * again). One still pending is waited for before it is stopped.
 */
export async function stopNodes(context: AwsContext, nodes: readonly NodeRef[]): Promise<Progress> {
  if (nodes.length === 0) return { state: 'done' };
  const byNode = await instancesByNode(context);
  const stop: string[] = [];
  const waiting: string[] = [];
  for (const node of nodes) {
    const instance = byNode.get(node.name);
    if (!instance?.InstanceId) return { state: 'failed', reason: `node ${node.name} has no instance to stop` };
    const state = instance.State?.Name ?? 'unknown';
    if (state === 'stopped') continue;
    if (state === 'running') stop.push(instance.InstanceId);
    waiting.push(`${node.name} ${state === 'running' ? 'stopping' : state}`);
  }
  if (stop.length > 0) await call('ec2:StopInstances', () => context.clients.ec2.send(new StopInstancesCommand({ InstanceIds: stop })));
  return waiting.length === 0 ? { state: 'done' } : { state: 'pending', detail: waiting.join(', ') };
}

export async function health({ clients: { ec2 } }: AwsContext, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
  if (nodes.length === 0) return [];
  const statuses = await instanceStatuses(ec2, instanceIds(nodes));
  return nodes.map((node) => {
    const status = statuses.get(node.nodeId);
    const unhealthy = (detail: string): NodeHealth => ({ name: node.name, role: node.role, healthy: false, detail });
    if (!status) return unhealthy('the instance does not exist');
    const state = status.InstanceState?.Name ?? 'unknown';
    if (state !== 'running') return unhealthy(`the instance is ${state}`);
    const system = status.SystemStatus?.Status ?? 'unknown';
    const instance = status.InstanceStatus?.Status ?? 'unknown';
    if (system !== 'ok' || instance !== 'ok') return unhealthy(`status checks: system ${system}, instance ${instance}`);
    return { name: node.name, role: node.role, healthy: true };
  });
}

/** Terminates every instance of the component, today's nodes or not, and waits until they are gone. */
export async function terminateNodes({ target, clients: { ec2 }, clock }: AwsContext): Promise<void> {
  const filters: Filter[] = [...componentFilters(target), { Name: 'instance-state-name', Values: [...LIVE_STATES, 'shutting-down'] }];
  let instances = await describeInstances(ec2, filters);
  if (instances.length > 0) {
    const ids = instances.map((instance) => instance.InstanceId!);
    await call('ec2:TerminateInstances', () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })));
  }
  for (let poll = 0; instances.length > 0; poll += 1) {
    if (poll === TERMINATE_POLLS) {
      throw new TransientError(`${instances.length} instance(s) of ${target.planId}/${target.component.id} are still shutting down`);
    }
    await clock.sleep(TERMINATE_POLL_MS);
    instances = await describeInstances(ec2, filters);
  }
}

/** The node role is the plan's, shared by its components: it goes with the plan's last instance. */
export async function removeNodeRoleIfUnused({ target, clients: { ec2, iam } }: AwsContext): Promise<void> {
  const planInstances = await describeInstances(ec2, [
    { Name: `tag:${TAG_PLAN_ID}`, Values: [target.planId] },
    { Name: 'instance-state-name', Values: [...LIVE_STATES, 'shutting-down'] },
  ]);
  if (planInstances.length === 0) await deleteNodeRole(iam, target.planId);
}

/** The nodes' EC2 instance ids; refuses a node that has none (a reference from another cloud). */
export function instanceIds(nodes: readonly NodeRef[]): string[] {
  if (nodes.length === 0) throw new PermanentError('there are no nodes to run on');
  return nodes.map((node) => {
    if (!INSTANCE_ID.test(node.nodeId)) throw new PermanentError(`node ${node.name} has no EC2 instance id (${node.nodeId})`);
    return node.nodeId;
  });
}

export function nodeLabel(node: NodeRef): string {
  return `${node.name} (${node.nodeId})`;
}

export async function describeInstances(ec2: EC2Client, filters: Filter[]): Promise<Instance[]> {
  const instances: Instance[] = [];
  let token: string | undefined;
  do {
    const page = await call('ec2:DescribeInstances', () =>
      ec2.send(new DescribeInstancesCommand({ Filters: filters, ...(token ? { NextToken: token } : {}) })),
    );
    for (const reservation of page.Reservations ?? []) instances.push(...(reservation.Instances ?? []));
    token = page.NextToken;
  } while (token);
  return instances;
}

/** The component's nodes whose instances run now, in the plan's order, with the role the deploy gave them. */
export async function runningNodes(context: AwsContext): Promise<NodeRef[]> {
  const instances = await instancesByNode(context);
  return context.component.nodes.flatMap((node) => {
    const instance = instances.get(node.name);
    if (instance?.State?.Name !== 'running' || !instance.InstanceId) return [];
    return [{ name: node.name, role: node.role, nodeId: instance.InstanceId, port: context.component.postgres.port }];
  });
}

async function instancesByNode({ target, component, clients: { ec2 } }: AwsContext): Promise<Map<string, Instance>> {
  const names = component.nodes.map((node) => node.name);
  const instances = await describeInstances(ec2, [
    ...componentFilters(target),
    { Name: `tag:${TAG_NODE}`, Values: names },
    { Name: 'instance-state-name', Values: LIVE_STATES },
  ]);
  // Should two ever carry one node's tag, the oldest is the node: the same answer on every run.
  instances.sort((a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0) || (a.InstanceId ?? '').localeCompare(b.InstanceId ?? ''));
  const byNode = new Map<string, Instance>();
  for (const instance of instances) {
    const node = instance.Tags?.find((tag) => tag.Key === TAG_NODE)?.Value;
    if (node !== undefined && !byNode.has(node)) byNode.set(node, instance);
  }
  return byNode;
}

async function runInstance(
  { target, component, clients, clock, placement }: AwsContext,
  node: AwsNode,
  network: NetworkRef,
  instanceProfileName: string,
) {
  // The transformer leaves the deploy-time fields out; whatever it might carry for them, or a
  // key pair (there is no SSH), is replaced or dropped here.
  const {
    KeyName: _keyName,
    ClientToken: _token,
    SecurityGroupIds: _groups,
    SubnetId: _subnet,
    IamInstanceProfile: _profile,
    TagSpecifications: _tags,
    ...rendered
  } = component.runInstances;
  const input = {
    ...rendered,
    SecurityGroupIds: [network.networkId],
    ...(placement.subnetId ? { SubnetId: placement.subnetId } : {}),
    IamInstanceProfile: { Name: instanceProfileName },
    ClientToken: clientToken(target, node.name),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: [...node.tags] },
      { ResourceType: 'volume', Tags: [...node.tags] },
    ],
  } as RunInstancesCommandInput;
  // RunInstances, waiting out a new instance profile that EC2 does not see yet (the ClientToken makes the repeat safe).
  for (let attempt = 0; ; attempt += 1) {
    try {
      const output = await call('ec2:RunInstances', () => clients.ec2.send(new RunInstancesCommand(input)));
      const instance = output.Instances?.[0];
      if (!instance?.InstanceId) throw new TransientError(`ec2:RunInstances returned no instance for ${node.name}`);
      return instance;
    } catch (error) {
      if (!isProfileNotYetVisible(error)) throw error;
      if (attempt === PROFILE_PROPAGATION.retries)
        throw new TransientError(`EC2 does not see instance profile ${instanceProfileName} yet`, { code: 'InvalidParameterValue', cause: error });
      await clock.sleep(PROFILE_PROPAGATION.delayMs);
    }
  }
}

async function instanceStatuses(ec2: EC2Client, ids: string[]): Promise<Map<string, InstanceStatus>> {
  const describe = async (instanceIds: string[]) => {
    const output = await call('ec2:DescribeInstanceStatus', () =>
      ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: instanceIds, IncludeAllInstances: true })),
    );
    return output.InstanceStatuses ?? [];
  };
  let statuses: InstanceStatus[];
  try {
    statuses = await describe(ids);
  } catch (error) {
    if (awsErrorCode(error) !== 'InvalidInstanceID.NotFound') throw error;
    // One unknown id fails the whole call; ask for each on its own so the others still report.
    statuses = [];
    for (const id of ids) {
      try {
        statuses.push(...(await describe([id])));
      } catch (inner) {
        if (awsErrorCode(inner) !== 'InvalidInstanceID.NotFound') throw inner;
      }
    }
  }
  return new Map(statuses.flatMap((status) => (status.InstanceId ? [[status.InstanceId, status] as const] : [])));
}
