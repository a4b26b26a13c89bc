import type { DeployedComponent, DeployedNode } from './deployments.ts';

// Who leads a cluster, as the health check records it. A new leader means a new timeline, and the
// next backup after it must be a full one. The leader moves only when another node is seen as a
// healthy primary. A check that catches a handover half-way (the new leader named primary but not
// serving yet) does not move it, so the next check still sees the change.

/** The leader a record names: the one the health check saw, or, for a record from before that, the node recorded as primary. */
export function leaderOf(component: DeployedComponent): string | undefined {
  return component.leader ?? component.nodes.find((node) => node.role === 'primary')?.name;
}

/** The leader a check records for `previous` with the nodes as it found them: a healthy primary, else the one before. */
export function leaderAfter(previous: DeployedComponent, nodes: readonly DeployedNode[]): string | undefined {
  return nodes.find((node) => node.role === 'primary' && node.healthy === true)?.name ?? leaderOf(previous);
}

/** The components of `now` whose leader is not the one `before` recorded. */
export function movedLeaders(before: readonly DeployedComponent[], now: readonly DeployedComponent[]): DeployedComponent[] {
  return now.filter((component) => {
    const previous = before.find((entry) => entry.id === component.id);
    const was = previous ? leaderOf(previous) : undefined;
    return was !== undefined && component.leader !== undefined && component.leader !== was;
  });
}
