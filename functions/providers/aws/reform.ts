import { ETCD_MEMBERS, forgetClusterRequest } from '@cloudseed/shared/postgres/patroni';
import { findOs } from '@cloudseed/shared/postgres/os';
import { PATRONI_DIR } from '@cloudseed/shared/targets/aws/patroni';
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import type { NodeRef, RecoveryTarget } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import * as archive from '../node-backups/archive.ts';
import { backupHost, runOnNode } from './backups.ts';
import type { AwsContext } from './clients.ts';
import { clusterEnvironments, COMMAND_TIMEOUT_SECONDS } from './commands.ts';
import { describeEndpoint } from './endpoint.ts';
import { clusterState } from './ha.ts';
import type { PatroniComponent } from './ha.ts';
import { runningNodes } from './instances.ts';

// An in-place restore of a Patroni cluster on EC2, as the local cloud's #dissolveCluster and
// #reformCluster do it: Patroni would otherwise restart (or rewind) a server restored behind its
// back. The cluster is dissolved (Patroni stopped on every node, each node forgetting that it was
// adopted), forgotten in etcd, and its leader restored with pgBackRest under the distribution's
// service; configure then sets the leader up afresh (Patroni adopts the restored data directory and
// forms the cluster anew) and, in the restore workflow's next step, each replica as a new clone.

type PatroniContext = AwsContext & { readonly component: PatroniComponent };

const DISSOLVE_LIMITS = { commandSeconds: 120, pollMs: 2_000, polls: 60 };
const CONFIGURE_LIMITS = { commandSeconds: COMMAND_TIMEOUT_SECONDS.configure, pollMs: 5_000, polls: COMMAND_TIMEOUT_SECONDS.configure / 5 };

export function dissolveScript(context: PatroniContext): string {
  const { os, postgres } = context.component;
  const image = findOs(os.name, os.version);
  if (!image) throw new PermanentError(`${os.name} ${os.version} is not an OS CloudSeed deploys`);
  return renderNodeScript(
    'dissolve: takes the node out of its Patroni cluster before the cluster is formed again.',
    { PATRONI_DIR, SERVICE: image.serviceName(postgres.major) },
    ['patroni-dissolve.sh'],
  );
}

/**
 * Restores the cluster's leader now (the deployment's primary when no leader answers: a cluster
 * that is down is what one restores) and forms the cluster again from it; the replicas stay
 * stopped until rebuildPatroniReplicas clones them.
 */
export async function restorePatroniCluster(context: PatroniContext, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
  const nodes = await runningNodes(context);
  const state = await clusterState(context, nodes);
  const leader = nodes.find((node) => node.name === (state?.leader?.name ?? primary.name));
  if (!leader) throw new TransientError(`${primary.name}, the node to restore, is not running`);
  const members = withLeader(nodes, leader);
  const restored = members.find((node) => node.role === 'primary')!;
  // Everything the re-forming needs is checked before the cluster is taken down.
  const environments = await environmentsOf(context, members);
  await Promise.all(members.map((node) => runOnNode(context, node, 'dissolve', dissolveScript(context), [], DISSOLVE_LIMITS)));
  const etcdHosts = environments.etcdHosts;
  const forget = {
    etcdClientPort: context.component.patroni.etcdClientPort,
    request: JSON.stringify(forgetClusterRequest(context.component.patroni.scope)),
  };
  await archive.restoreToPoint(backupHost(context), restored, recoveryTarget, { forget, etcdHosts });
  await configure(context, restored, environments);
}

/**
 * Every member but the leader leaves the cluster and is set up again as a new clone of it: after a
 * restore all of them followed the history the restore left. The deployment's roles may lag the
 * cluster's (the leader may have moved since), so Patroni's leader decides, not `replicas`.
 */
export async function rebuildPatroniReplicas(context: PatroniContext, leader: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
  if (replicas.length === 0) return;
  const members = withLeader(await runningNodes(context), leader);
  const chosen = members.filter((node) => node.role === 'replica');
  const environments = await environmentsOf(context, members);
  await Promise.all(chosen.map((node) => runOnNode(context, node, 'dissolve', dissolveScript(context), [], DISSOLVE_LIMITS)));
  await Promise.all(chosen.map((node) => configure(context, node, environments)));
}

/** The nodes with the one that leads (or is restored) as the primary and every other as a replica. */
function withLeader(nodes: readonly NodeRef[], leader: NodeRef): NodeRef[] {
  if (!nodes.some((node) => node.name === leader.name)) throw new TransientError(`${leader.name}, which leads, is not running`);
  return nodes.map((node) => ({ ...node, role: node.name === leader.name ? 'primary' : 'replica' }));
}

interface Environments {
  readonly byNode: Map<string, ReadonlyArray<readonly [string, string]>>;
  readonly etcdHosts: readonly string[];
}

async function environmentsOf(context: PatroniContext, members: readonly NodeRef[]): Promise<Environments> {
  const etcdNames = context.component.nodes.slice(0, ETCD_MEMBERS).map((node) => node.name);
  if (!etcdNames.every((name) => members.some((node) => node.name === name)))
    throw new TransientError(`the etcd members of ${context.component.id} (${etcdNames.join(', ')}) are not all running`);
  const balancer = await describeEndpoint(context);
  const byNode = await clusterEnvironments(context.component, context.clients.ec2, members, balancer?.host);
  const etcdHosts = (byNode.values().next().value ?? []).find(([name]) => name === 'CLOUDSEED_ETCD_HOSTS')?.[1].split(' ') ?? [];
  return { byNode, etcdHosts };
}

async function configure(context: PatroniContext, node: NodeRef, environments: Environments): Promise<void> {
  await runOnNode(context, node, 'configure', context.component.scripts.configure, environments.byNode.get(node.nodeId) ?? [], CONFIGURE_LIMITS);
}
