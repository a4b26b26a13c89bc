import { GetCommandInvocationCommand } from '@aws-sdk/client-ssm';
import { parseClusterState } from '@cloudseed/shared/postgres/patroni';
import type { ClusterState } from '@cloudseed/shared/postgres/patroni';
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import type { AwsComponent } from '@cloudseed/shared';
import type { NodeHealth, NodeRef, Switchover } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { membersHealth } from '../patroni-health.ts';
import { chooseSwitchover } from '../switchover-choice.ts';
import type { AwsContext } from './clients.ts';
import { sendScript } from './commands.ts';
import { awsErrorCode, call } from './errors.ts';
import { instanceIds, runningNodes } from './instances.ts';
import { accountOf } from './target.ts';

// A Patroni cluster on EC2, seen and steered from outside: Patroni's REST API listens on each
// node's private address, which only the cluster's own nodes reach, so the provider asks a node to
// ask its Patroni (SSM Run Command) and reads the answer from the command's output.

const STATE_TIMEOUT_SECONDS = 30;
const SWITCHOVER_TIMEOUT_SECONDS = 180;
const POLL_MS = 2_000;
const STATE_POLLS = 15;
const SWITCHOVER_POLLS = 90;
const NODE_NAME = /^[a-z0-9-]+$/;

export type PatroniComponent = AwsComponent & { readonly patroni: NonNullable<AwsComponent['patroni']> };

export function isPatroniCluster(component: AwsComponent): component is PatroniComponent {
  return component.patroni !== undefined;
}

export function clusterStateScript(component: PatroniComponent): string {
  return renderNodeScript("cluster state: Patroni's GET /cluster on this node.", { PATRONI_REST_PORT: String(component.patroni.restPort) }, [
    'patroni-state.sh',
  ]);
}

export function switchoverScript(component: PatroniComponent, region: string, leader: string, candidate: string): string {
  for (const name of [leader, candidate]) if (!NODE_NAME.test(name)) throw new PermanentError(`${name} is not a node name`);
  return renderNodeScript(
    `switchover: Patroni hands the lead from ${leader} to ${candidate}.`,
    {
      REGION: region,
      PATRONI_REST_PORT: String(component.patroni.restPort),
      REST_USER: component.patroni.restUser,
      REST_PASSWORD_PARAMETER: component.patroni.restPasswordParameter,
      LEADER: leader,
      CANDIDATE: candidate,
    },
    ['patroni-switchover.sh'],
  );
}

/** Patroni's view of the cluster from the first node whose Patroni answers; undefined when none does. */
export async function clusterState(
  context: AwsContext & { component: PatroniComponent },
  nodes: readonly NodeRef[],
): Promise<ClusterState | undefined> {
  if (nodes.length === 0) return undefined;
  const ids = instanceIds(nodes);
  const commandId = await sendScript(context, ids, 'cluster-state', clusterStateScript(context.component), [], STATE_TIMEOUT_SECONDS);
  const open = new Set(ids);
  for (let poll = 0; poll < STATE_POLLS && open.size > 0; poll += 1) {
    await context.clock.sleep(POLL_MS);
    for (const instanceId of [...open]) {
      const invocation = await invocationOf(context, commandId, instanceId);
      if (invocation === undefined || ['Pending', 'InProgress', 'Delayed'].includes(invocation.Status ?? '')) continue;
      open.delete(instanceId);
      if (invocation.Status !== 'Success') continue;
      try {
        return parseClusterState(JSON.parse(invocation.StandardOutputContent ?? ''));
      } catch {
        // This node printed something that is not Patroni's answer: ask the next one's.
      }
    }
  }
  return undefined;
}

/** The node that leads now, as the primary: the deployment's primary may have failed over since. */
export async function leaderNode(context: AwsContext & { component: PatroniComponent }): Promise<NodeRef> {
  const nodes = await runningNodes(context);
  const state = await clusterState(context, nodes);
  const leader = nodes.find((node) => node.name === state?.leader?.name);
  if (!leader) throw new TransientError(`${context.component.id} has no leader now${state ? '' : ' (no Patroni of the cluster answers)'}`);
  return { ...leader, role: 'primary' };
}

/** Each node as Patroni sees it: its role now (the leader may have moved since the deploy), its state, timeline and lag. */
export async function clusterHealth(context: AwsContext & { component: PatroniComponent }, nodes: readonly NodeRef[]): Promise<NodeHealth[]> {
  return membersHealth(await clusterState(context, nodes), nodes);
}

/**
 * Hands the lead to `candidate`, or to the replica least behind when none is named: a candidate
 * must be a node of the cluster, not the leader, serving and within the failover lag limit.
 */
export async function switchover(context: AwsContext, candidate?: string): Promise<Switchover> {
  const { component, target } = context;
  if (!isPatroniCluster(component)) {
    throw new PermanentError(
      component.nodes.length > 1
        ? `${component.id} streams to one replica without Patroni: automatic failover and switchover on AWS need at least 2 replicas`
        : `${component.id} is a single server: it has no replica to hand over to`,
    );
  }
  const patroniContext = { ...context, component };
  const nodes = await runningNodes(context);
  const state = await clusterState(patroniContext, nodes);
  const names = component.nodes.map((node) => node.name);
  const { leader, chosen } = chooseSwitchover(component.id, state, nodes, names, candidate);

  const script = switchoverScript(component, accountOf(target).region, leader.name, chosen);
  const commandId = await sendScript(context, [leader.nodeId], 'switchover', script, [], SWITCHOVER_TIMEOUT_SECONDS);
  for (let poll = 0; poll < SWITCHOVER_POLLS; poll += 1) {
    await context.clock.sleep(POLL_MS);
    const invocation = await invocationOf(context, commandId, leader.nodeId);
    if (invocation === undefined || ['Pending', 'InProgress', 'Delayed'].includes(invocation.Status ?? '')) continue;
    if (invocation.Status === 'Success') return { from: leader.name, to: chosen };
    const why = invocation.StandardErrorContent?.trim().split('\n').at(-1) ?? '';
    throw new PermanentError(
      `the switchover of ${component.id} from ${leader.name} to ${chosen} ${invocation.Status ?? 'failed'}${why ? `: ${why}` : ''}`,
    );
  }
  throw new TransientError(`the switchover of ${component.id} did not finish within ${(POLL_MS * SWITCHOVER_POLLS) / 1000} s`);
}

async function invocationOf({ clients: { ssm } }: AwsContext, commandId: string, instanceId: string) {
  try {
    return await call('ssm:GetCommandInvocation', () => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })));
  } catch (error) {
    // Right after SendCommand the invocation may not be visible yet.
    if (awsErrorCode(error) === 'InvocationDoesNotExist') return undefined;
    throw error;
  }
}
