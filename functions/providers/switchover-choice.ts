import { isServing, MAXIMUM_LAG_ON_FAILOVER } from '@cloudseed/shared/postgres/patroni';
import type { ClusterState } from '@cloudseed/shared/postgres/patroni';
import type { NodeRef } from './provider.ts';
import { PermanentError } from './errors.ts';

// Who a planned switchover goes from and to, from Patroni's view of the cluster, the same on every
// cloud: the leader Patroni names, and the candidate asked for or else the replica furthest ahead,
// which must be a healthy replica within the failover lag limit.

export function chooseSwitchover(
  componentId: string,
  state: ClusterState | undefined,
  nodes: readonly NodeRef[],
  nodeNames: readonly string[],
  candidate?: string,
): { readonly leader: NodeRef; readonly chosen: string } {
  const leader = nodes.find((node) => node.name === state?.leader?.name);
  if (!state || !leader) throw new PermanentError(`${componentId} has no leader now, so there is nothing to hand over`);
  const eligible = (name: string) =>
    state.members.some(
      (member) => member.name === name && member.role !== 'leader' && isServing(member.state) && (member.lagBytes ?? 0) <= MAXIMUM_LAG_ON_FAILOVER,
    );
  if (candidate !== undefined && !nodeNames.includes(candidate))
    throw new PermanentError(`${candidate} is not a node of ${componentId} (its nodes: ${nodeNames.join(', ')})`);
  if (candidate === leader.name) throw new PermanentError(`${candidate} leads ${componentId} already`);
  if (candidate !== undefined && !eligible(candidate)) throw new PermanentError(`${candidate} is not a healthy replica in step with the leader`);
  const chosen =
    candidate ??
    [...state.members]
      .filter((member) => eligible(member.name))
      .sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
      .at(0)?.name;
  if (chosen === undefined) throw new PermanentError(`${componentId} has no healthy replica in step with the leader to hand over to`);
  return { leader, chosen };
}
