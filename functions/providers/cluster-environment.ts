import { ETCD_MEMBERS } from '@cloudseed/shared/postgres/patroni';
import type { NodeRef } from './provider.ts';
import { PermanentError } from './errors.ts';

// What configure is told on each node of a cluster, on every cloud: its role, and the private
// address of the primary (replicas) or of the replicas (primary). Under Patroni every node may lead,
// so each is given every member's address, its name (Patroni's member name), the three etcd
// members' addresses, which of them it runs, and the load balancer's address for its certificate.

export type ScriptEnvironment = ReadonlyArray<readonly [name: string, value: string]>;

export interface ClusterShape {
  /** The component's node names in its plan's order: under Patroni the first three run etcd. */
  readonly nodeNames: readonly string[];
  readonly patroni: boolean;
}

/** Per node id, the environment configure runs with. `privateIp` gives a node's validated private IPv4 address. */
export function clusterEnvironments(
  shape: ClusterShape,
  nodes: readonly NodeRef[],
  privateIp: (node: NodeRef) => string,
  endpointHost: string | undefined,
): Map<string, ScriptEnvironment> {
  const primaries = nodes.filter((node) => node.role === 'primary');
  if (primaries.length !== 1) throw new PermanentError(`a cluster needs exactly one primary node, not ${primaries.length}`);
  const primary = primaries[0]!;
  const primaryIp = privateIp(primary);
  if (shape.patroni) return patroniEnvironments(shape, nodes, primaryIp, privateIp, endpointHost);
  const replicaIps = nodes.filter((node) => node.role === 'replica').map(privateIp);
  return new Map(
    nodes.map((node) => [
      node.nodeId,
      node === primary
        ? [
            ['CLOUDSEED_NODE_ROLE', 'primary'],
            ['CLOUDSEED_REPLICA_HOSTS', replicaIps.join(' ')],
          ]
        : [
            ['CLOUDSEED_NODE_ROLE', 'replica'],
            ['CLOUDSEED_PRIMARY_HOST', primaryIp],
          ],
    ]),
  );
}

function patroniEnvironments(
  shape: ClusterShape,
  nodes: readonly NodeRef[],
  primaryIp: string,
  privateIp: (node: NodeRef) => string,
  endpointHost: string | undefined,
): Map<string, ScriptEnvironment> {
  const etcdNames = shape.nodeNames.slice(0, ETCD_MEMBERS);
  const etcdIps = etcdNames.map((name) => {
    const node = nodes.find((candidate) => candidate.name === name);
    if (!node) throw new PermanentError(`node ${name} runs an etcd member but is not among the nodes to configure`);
    return privateIp(node);
  });
  const memberIps = nodes.map(privateIp).join(' ');
  return new Map(
    nodes.map((node) => {
      if (!/^[a-z0-9-]+$/.test(node.name)) throw new PermanentError(`${node.name} is not a node name Patroni can use`);
      const etcdMember = etcdNames.indexOf(node.name);
      return [
        node.nodeId,
        [
          ['CLOUDSEED_NODE_ROLE', node.role],
          ['CLOUDSEED_NODE_NAME', node.name],
          ['CLOUDSEED_PRIMARY_HOST', primaryIp],
          ['CLOUDSEED_REPLICA_HOSTS', memberIps],
          ['CLOUDSEED_ETCD_HOSTS', etcdIps.join(' ')],
          ['CLOUDSEED_ETCD_MEMBER', etcdMember < 0 ? '' : String(etcdMember)],
          ['CLOUDSEED_ENDPOINT_HOST', endpointHost ?? ''],
        ],
      ];
    }),
  );
}
