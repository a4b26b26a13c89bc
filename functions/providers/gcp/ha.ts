import { renderNodeScript } from '@cloudseed/shared/targets/node-scripts';
import type { NodeRef, Switchover } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import type { GcpContext } from './clients.ts';
import { clusterEnvironments } from '../cluster-environment.ts';
import { requireIpv4 } from '../command-output.ts';
import type { PatroniHost } from '../node-backups/reform.ts';
import { backupHost } from './backups.ts';
import { nodeNameOf, runOnNode } from './commands.ts';
import { describeEndpoint } from './endpoint.ts';
import { found } from './errors.ts';
import { leadersOf, nodeRefOf } from './nodes.ts';

// A planned switchover of a Patroni cluster on Google Cloud. Who leads is what the load balancer's
// check of Patroni's /primary finds (the one node it passes); the leader's Patroni is asked to hand
// over (patroni-switchover.sh, the same script as on AWS) through the node's agent. Patroni itself
// refuses a candidate that is not a healthy replica in step with the leader, and its answer is the
// reason given.

const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/** Patroni answers once the candidate leads (curl waits up to 120 s); the agent reports within seconds after. */
const SWITCHOVER_LIMITS = { pollMs: 2_000, polls: 75 };

export async function switchover(context: GcpContext, candidate?: string): Promise<Switchover> {
  const { component, project } = context;
  const patroni = component.patroni;
  if (!patroni) {
    throw new PermanentError(
      component.instances.length > 1
        ? `${component.id} streams to one replica without Patroni: automatic failover and switchover need at least 2 replicas`
        : `${component.id} is a single server: it has no replica to hand over to`,
    );
  }
  const { nodes, running } = await clusterNodes(context);
  const leaders = (await leadersOf(context)) ?? [];
  const leader = leaders.length === 1 ? nodes.find((node) => node.nodeId === leaders[0]) : undefined;
  if (!leader) throw new PermanentError(`${component.id} has no leader now, so there is nothing to hand over`);
  if (candidate !== undefined && !nodes.some((node) => node.name === candidate))
    throw new PermanentError(`${candidate} is not a node of ${component.id} (its nodes: ${nodes.map((node) => node.name).join(', ')})`);
  if (candidate === leader.name) throw new PermanentError(`${candidate} leads ${component.id} already`);
  if (candidate !== undefined && !running.has(candidate)) throw new PermanentError(`${candidate} is not running`);
  const chosen = candidate ?? nodes.find((node) => node.name !== leader.name && running.has(node.name))?.name;
  if (chosen === undefined) throw new PermanentError(`${component.id} has no running replica to hand over to`);
  for (const name of [leader.name, chosen]) if (!NODE_NAME.test(name)) throw new PermanentError(`${name} is not a node name`);

  const script = renderNodeScript(
    `switchover: Patroni hands the lead from ${leader.name} to ${chosen}.`,
    {
      PROJECT: project,
      PATRONI_REST_PORT: String(patroni.restPort),
      REST_USER: patroni.restUser,
      REST_PASSWORD_PARAMETER: patroni.restPasswordSecret.secretId,
      LEADER: leader.name,
      CANDIDATE: chosen,
    },
    ['patroni-switchover.sh'],
    'gcp',
  );
  await runOnNode(context, leader, 'switchover', script, SWITCHOVER_LIMITS);
  return { from: leader.name, to: chosen };
}

/** The component's instances that exist, and the names of those running. */
async function clusterNodes(context: GcpContext): Promise<{ nodes: NodeRef[]; running: Set<string> }> {
  const { component, project, zone, clients } = context;
  const nodes: NodeRef[] = [];
  const running = new Set<string>();
  for (const insert of component.instances) {
    const instance = await found(
      'compute.instances.get',
      async () => (await clients.instances.get({ project, zone, instance: String(insert.instanceResource['name']) }))[0],
    );
    if (!instance) continue;
    const node = nodeRefOf(instance);
    nodes.push(node);
    if (instance.status === 'RUNNING') running.add(node.name);
  }
  return { nodes, running };
}

/** Where backups, validations and restores run: a Patroni cluster's leader now (the one node the load balancer passes), else the deployment's primary. */
export async function writerOf(context: GcpContext, primary: NodeRef): Promise<NodeRef> {
  if (!context.component.patroni) return primary;
  const leaders = (await leadersOf(context)) ?? [];
  const { nodes } = await clusterNodes(context);
  const leader = leaders.length === 1 ? nodes.find((node) => node.nodeId === leaders[0]) : undefined;
  if (!leader) throw new TransientError(`${context.component.id} has no leader now: no node passes the load balancer's check of Patroni's /primary`);
  return { ...leader, role: 'primary' };
}

/**
 * What an in-place restore of a Patroni cluster (../node-backups/reform.ts) knows on Google Cloud:
 * the running instances with their internal addresses, who leads as the load balancer's check of
 * Patroni's /primary finds it, and configure's environment with the load balancer's address.
 */
export function patroniHost(context: GcpContext): PatroniHost {
  const { component } = context;
  const { patroni } = component;
  if (!patroni) throw new PermanentError(`${component.id} does not run Patroni`);
  return {
    ...backupHost(context),
    nodeNames: component.instances.map((insert) => nodeNameOf(insert.instanceResource)),
    patroni: { scope: patroni.scope, etcdClientPort: patroni.etcdClientPort },
    runningNodes: async () => {
      const { nodes, running } = await clusterNodes(context);
      return nodes.filter((node) => running.has(node.name));
    },
    leaderName: async (nodes) => {
      const leaders = (await leadersOf(context)) ?? [];
      return leaders.length === 1 ? nodes.find((node) => node.nodeId === leaders[0])?.name : undefined;
    },
    environments: async (members) =>
      clusterEnvironments(
        { nodeNames: component.instances.map((insert) => nodeNameOf(insert.instanceResource)), patroni: true },
        members,
        (node) => requireIpv4(node.host, `node ${node.name}`),
        (await describeEndpoint(context))?.host,
      ),
  };
}
