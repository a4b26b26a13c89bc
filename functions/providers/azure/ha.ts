import { parseClusterState } from '@cloudseed/shared/postgres/patroni';
import type { ClusterState } from '@cloudseed/shared/postgres/patroni';
import { ETCD_CLIENT_PORT, PATRONI_REST_PORT, PATRONI_REST_USER, patroniScope } from '@cloudseed/shared/targets/aws/patroni';
import { patroniPasswordParameterFor } from '@cloudseed/shared/targets/aws/scripts';
import { renderNodeScript } from '@cloudseed/shared/targets/node-scripts';
import type { NodeHealth, NodeRef, Switchover } from '../provider.ts';
import { membersHealth } from '../patroni-health.ts';
import { AccountAccessError, PermanentError, TransientError } from '../errors.ts';
import { chooseSwitchover } from '../switchover-choice.ts';
import type { AzureContext } from './clients.ts';
import { clusterEnvironments } from '../cluster-environment.ts';
import { requireIpv4 } from '../command-output.ts';
import type { PatroniHost } from '../node-backups/reform.ts';
import { backupHost } from './backups.ts';
import { runOnNode } from './commands.ts';
import { describeEndpoint } from './endpoint.ts';
import { health as vmHealth, runningNodes } from './nodes.ts';

// A planned switchover of a Patroni cluster on Azure. Patroni's REST API listens on each node's
// private address, which only the cluster's own nodes reach, so a node is asked (Run Command,
// patroni-state.sh) for Patroni's view of the cluster, and the leader's Patroni is asked to hand
// over (patroni-switchover.sh): the same scripts and the same choice of candidate as on AWS.

const NODE_NAME = /^[a-z0-9-]+$/;
const STATE_COMMAND = 'cloudseed-patroni-state';
const SWITCHOVER_COMMAND = 'cloudseed-switchover';
const STATE_LIMITS = { timeoutSeconds: 30, pollMs: 2_000, polls: 30 };
const SWITCHOVER_LIMITS = { timeoutSeconds: 180, pollMs: 2_000, polls: 100 };

export async function switchover(context: AzureContext, candidate?: string): Promise<Switchover> {
  const { component, target } = context;
  if (!component.network.loadBalancer) {
    throw new PermanentError(
      component.nodes.length > 1
        ? `${component.id} streams to one replica without Patroni: automatic failover and switchover need at least 2 replicas`
        : `${component.id} is a single server: it has no replica to hand over to`,
    );
  }
  const nodes = componentNodes(context);
  const header = stateHeader(context);
  const state = await clusterState(context, nodes, header);
  const names = nodes.map((node) => node.name);
  const { leader, chosen } = chooseSwitchover(component.id, state, nodes, names, candidate);
  for (const name of [leader.name, chosen]) if (!NODE_NAME.test(name)) throw new PermanentError(`${name} is not a node name`);
  const script = renderNodeScript(
    `switchover: Patroni hands the lead from ${leader.name} to ${chosen}.`,
    {
      ...header,
      REST_USER: PATRONI_REST_USER,
      REST_PASSWORD_PARAMETER: patroniPasswordParameterFor(`/cloudseed/${target.planId}/${component.id}/password`),
      LEADER: leader.name,
      CANDIDATE: chosen,
    },
    ['patroni-switchover.sh'],
    'azure',
  );
  await runOnNode(context, leader, SWITCHOVER_COMMAND, script, SWITCHOVER_LIMITS);
  return { from: leader.name, to: chosen };
}

/** Patroni's view of the cluster from the first node whose Patroni answers; undefined when none does. */
async function clusterState(context: AzureContext, nodes: readonly NodeRef[], header: Record<string, string>): Promise<ClusterState | undefined> {
  const script = renderNodeScript("cluster state: Patroni's GET /cluster on this node.", header, ['patroni-state.sh'], 'azure');
  for (const node of nodes) {
    try {
      return parseClusterState(JSON.parse(await runOnNode(context, node, STATE_COMMAND, script, STATE_LIMITS)));
    } catch (error) {
      // This node is down, or printed something that is not Patroni's answer: ask the next one. A
      // subscription that refuses CloudSeed refuses it on every node.
      if (error instanceof AccountAccessError) throw error;
    }
  }
  return undefined;
}

/** Each node of the component as azure-json names it, by its VM's id. */
function componentNodes({ component }: AzureContext): NodeRef[] {
  return component.nodes.map((node, index) => ({
    name: node.name,
    role: node.role,
    nodeId: component.virtualMachines[index]!.id,
    port: component.postgres.port,
  }));
}

function stateHeader({ component, where }: AzureContext): Record<string, string> {
  return { REGION: where.region, VAULT: component.keyVault.name, PATRONI_REST_PORT: String(PATRONI_REST_PORT) };
}

/**
 * A Patroni cluster's nodes as the health check records them: a VM that does not run is down, and
 * the running ones are as Patroni says (../patroni-health.ts), so the roles follow a failover.
 */
export async function clusterHealth(context: AzureContext, refs: readonly NodeRef[]): Promise<NodeHealth[]> {
  const machines = await vmHealth(context, refs);
  const running = refs.filter((_, index) => machines[index]!.healthy);
  const state = running.length > 0 ? await clusterState(context, running, stateHeader(context)) : undefined;
  const members = membersHealth(state, refs);
  return refs.map((_, index) => (machines[index]!.healthy ? members[index]! : machines[index]!));
}

/** Where backups, validations and restores run: a Patroni cluster's leader now (as Patroni says), else the deployment's primary. */
export async function writerOf(context: AzureContext, primary: NodeRef): Promise<NodeRef> {
  if (!context.component.network.loadBalancer) return primary;
  const nodes = componentNodes(context);
  const state = await clusterState(context, nodes, stateHeader(context));
  const leader = nodes.find((node) => node.name === state?.leader?.name);
  if (!leader) throw new TransientError(`${context.component.id} has no leader now${state ? '' : ' (no Patroni of the cluster answers)'}`);
  return { ...leader, ...(primary.name === leader.name && primary.host ? { host: primary.host } : {}), role: 'primary' };
}

/**
 * What an in-place restore of a Patroni cluster (../node-backups/reform.ts) knows on Azure: the VMs
 * that run with their NICs' addresses, who leads as Patroni says (asked by Run Command), and
 * configure's environment with the load balancer's address, as run command parameters.
 */
export function patroniHost(context: AzureContext): PatroniHost {
  const { component, target } = context;
  const nodeNames = component.nodes.map((node) => node.name);
  return {
    ...backupHost(context),
    nodeNames,
    patroni: { scope: patroniScope(target.planId, component.id), etcdClientPort: ETCD_CLIENT_PORT },
    runningNodes: () => runningNodes(context),
    leaderName: async (nodes) => (await clusterState(context, nodes, stateHeader(context)))?.leader?.name,
    environments: async (members) =>
      clusterEnvironments(
        { nodeNames, patroni: true },
        members,
        (node) => requireIpv4(node.host, `node ${node.name}`),
        (await describeEndpoint(context))?.host,
      ),
  };
}
