import { ETCD_MEMBERS, forgetClusterRequest } from '@cloudseed/shared/postgres/patroni';
import { findOs } from '@cloudseed/shared/postgres/os';
import { PATRONI_DIR } from '@cloudseed/shared/targets/aws/patroni';
import { renderNodeScript } from '@cloudseed/shared/targets/node-scripts';
import type { ScriptEnvironment } from '../cluster-environment.ts';
import type { NodeRef, RecoveryTarget } from '../provider.ts';
import { PermanentError, TransientError } from '../errors.ts';
import * as archive from './archive.ts';
import type { ArchiveHost, BackupComponent } from './host.ts';

// An in-place restore of a Patroni cluster, the same on every cloud and as the local cloud's
// #dissolveCluster and #reformCluster do it: Patroni would otherwise restart (or rewind) a server
// restored behind its back. The cluster is dissolved (Patroni stopped on every node, each node
// forgetting that it was adopted), forgotten in etcd, and its leader restored with pgBackRest under
// the distribution's service; configure then sets the leader up afresh (Patroni adopts the restored
// data directory and forms the cluster anew) and, in the restore workflow's next step, each replica
// as a new clone. A cloud supplies what it knows of the cluster (PatroniHost).

const DISSOLVE_LIMITS = { commandSeconds: 120, pollMs: 2_000, polls: 60 };
const CONFIGURE_LIMITS = { commandSeconds: 600, pollMs: 5_000, polls: 120 };

export interface PatroniHost extends ArchiveHost {
  /** The component's node names in the plan's order: the first three run etcd. */
  readonly nodeNames: readonly string[];
  readonly patroni: { readonly scope: string; readonly etcdClientPort: number };
  /** The component's nodes that run now, with their private addresses, in the roles they were deployed with. */
  runningNodes(): Promise<NodeRef[]>;
  /** Who leads the cluster now (Patroni's view, or the load balancer's check of it); undefined when none does. */
  leaderName(nodes: readonly NodeRef[]): Promise<string | undefined>;
  /** What configure is told on each member (../cluster-environment.ts), by node id, with the roles `members` give. */
  environments(members: readonly NodeRef[]): Promise<Map<string, ScriptEnvironment>>;
}

/** patroni-dissolve.sh with the cloud's prelude. */
export function dissolveScript(component: BackupComponent, cloud: ArchiveHost['cloud'] = 'aws'): string {
  const { os, postgres } = component;
  const image = findOs(os.name, os.version);
  if (!image) throw new PermanentError(`${os.name} ${os.version} is not an OS CloudSeed deploys`);
  return renderNodeScript(
    'dissolve: takes the node out of its Patroni cluster before the cluster is formed again.',
    { PATRONI_DIR, SERVICE: image.serviceName(postgres.major) },
    ['patroni-dissolve.sh'],
    cloud,
  );
}

/**
 * Restores the cluster's leader now (the deployment's primary when no leader answers: a cluster
 * that is down is what one restores) and forms the cluster again from it; the replicas stay
 * stopped until rebuildPatroniReplicas clones them.
 */
export async function restorePatroniCluster(host: PatroniHost, primary: NodeRef, recoveryTarget: RecoveryTarget): Promise<void> {
  const nodes = await host.runningNodes();
  const leaderName = (await host.leaderName(nodes)) ?? primary.name;
  const leader = nodes.find((node) => node.name === leaderName);
  if (!leader) throw new TransientError(`${leaderName}, the node to restore, is not running`);
  const members = withLeader(nodes, leader);
  const restored = members.find((node) => node.role === 'primary')!;
  // Everything the re-forming needs is checked before the cluster is taken down.
  const environments = await environmentsOf(host, members);
  await Promise.all(members.map((node) => dissolve(host, node)));
  const forget = { etcdClientPort: host.patroni.etcdClientPort, request: JSON.stringify(forgetClusterRequest(host.patroni.scope)) };
  await archive.restoreToPoint(host, restored, recoveryTarget, { forget, etcdHosts: environments.etcdHosts });
  await configure(host, restored, environments);
}

/**
 * Every member but the leader leaves the cluster and is set up again as a new clone of it: after a
 * restore all of them followed the history the restore left. The deployment's roles may lag the
 * cluster's (the leader may have moved since), so Patroni's leader decides, not `replicas`.
 */
export async function rebuildPatroniReplicas(host: PatroniHost, leader: NodeRef, replicas: readonly NodeRef[]): Promise<void> {
  if (replicas.length === 0) return;
  const members = withLeader(await host.runningNodes(), leader);
  const chosen = members.filter((node) => node.role === 'replica');
  const environments = await environmentsOf(host, members);
  await Promise.all(chosen.map((node) => dissolve(host, node)));
  await Promise.all(chosen.map((node) => configure(host, node, environments)));
}

/** The cluster's leader now, as a primary: where its backups run and what a rebuild clones. */
export async function leaderNode(host: PatroniHost): Promise<NodeRef> {
  const nodes = await host.runningNodes();
  const name = await host.leaderName(nodes);
  const leader = nodes.find((node) => node.name === name);
  if (!leader) throw new TransientError(`${host.component.id} has no leader now`);
  return { ...leader, role: 'primary' };
}

/** The nodes with the one that leads (or is restored) as the primary and every other as a replica. */
function withLeader(nodes: readonly NodeRef[], leader: NodeRef): NodeRef[] {
  if (!nodes.some((node) => node.name === leader.name)) throw new TransientError(`${leader.name}, which leads, is not running`);
  return nodes.map((node) => ({ ...node, role: node.name === leader.name ? 'primary' : 'replica' }));
}

interface Environments {
  readonly byNode: Map<string, ScriptEnvironment>;
  readonly etcdHosts: readonly string[];
}

async function environmentsOf(host: PatroniHost, members: readonly NodeRef[]): Promise<Environments> {
  const etcdNames = host.nodeNames.slice(0, ETCD_MEMBERS);
  if (!etcdNames.every((name) => members.some((node) => node.name === name)))
    throw new TransientError(`the etcd members of ${host.component.id} (${etcdNames.join(', ')}) are not all running`);
  const byNode = await host.environments(members);
  const etcdHosts = (byNode.values().next().value ?? []).find(([name]) => name === 'CLOUDSEED_ETCD_HOSTS')?.[1].split(' ') ?? [];
  return { byNode, etcdHosts };
}

function dissolve(host: PatroniHost, node: NodeRef): Promise<void> {
  return host.runScript(node, 'dissolve', dissolveScript(host.component, host.cloud), `the dissolving of ${host.nodeLabel(node)}`, {
    limits: DISSOLVE_LIMITS,
  });
}

function configure(host: PatroniHost, node: NodeRef, environments: Environments): Promise<void> {
  return host.runScript(node, 'configure', host.configureScript, `the configuring of ${host.nodeLabel(node)}`, {
    environment: environments.byNode.get(node.nodeId) ?? [],
    limits: CONFIGURE_LIMITS,
  });
}
