import { isServing, MAXIMUM_LAG_ON_FAILOVER } from '@cloudseed/shared/postgres/patroni';
import type { ClusterState } from '@cloudseed/shared/postgres/patroni';
import type { NodeHealth, NodeRef } from './provider.ts';

// A Patroni cluster's nodes as the health check records them, the same on every cloud: the role
// Patroni gives each now (the leader may have moved since the deploy), its state, timeline and lag,
// healthy while it runs or streams within the failover lag limit.

/** `state` is Patroni's GET /cluster from any member; undefined when none answered. */
export function membersHealth(state: ClusterState | undefined, refs: readonly NodeRef[]): NodeHealth[] {
  return refs.map((ref): NodeHealth => {
    const base = { name: ref.name, role: ref.role };
    if (!state) return { ...base, healthy: false, detail: 'no Patroni of the cluster answers' };
    const member = state.members.find((candidate) => candidate.name === ref.name);
    if (!member) return { ...base, healthy: false, detail: 'not a member of the cluster (Patroni is not running on it)' };
    const role = member.role === 'leader' ? 'primary' : 'replica';
    const ha = {
      patroniRole: member.role,
      state: member.state,
      ...(member.timeline === undefined ? {} : { timeline: member.timeline }),
      ...(member.lagBytes === undefined ? {} : { lagBytes: member.lagBytes }),
    };
    if (!isServing(member.state)) return { ...base, role, ha, healthy: false, detail: `Patroni says ${member.state}` };
    if ((member.lagBytes ?? 0) > MAXIMUM_LAG_ON_FAILOVER)
      return { ...base, role, ha, healthy: false, detail: `${Math.round((member.lagBytes ?? 0) / 1024 / 1024)} MiB behind the leader` };
    return { ...base, role, ha, healthy: true };
  });
}
