import { describe, expect, it } from 'vitest';
import { leaderAfter, leaderOf, movedLeaders } from '../src/deployments/leaders.ts';
import type { DeployedComponent, DeployedNode } from '../src/deployments/deployments.ts';

// Who leads a cluster as the health check records it, and when a change of leader (a new timeline,
// whose next backup must be a full) is seen: a check that catches a switchover half-way, the new
// leader named primary but not serving yet, does not hide the change from the next one.

const node = (name: string, role: 'primary' | 'replica', healthy: boolean): DeployedNode => ({
  name,
  role,
  instanceId: name,
  host: '127.0.0.1',
  port: 5432,
  healthy,
});
const component = (nodes: DeployedNode[], leader?: string): DeployedComponent => ({
  id: 'db',
  nodes,
  databaseName: 'app',
  username: 'app',
  ...(leader ? { leader } : {}),
});
/** One health check: the nodes as found, the leader it records. */
const check = (previous: DeployedComponent, nodes: DeployedNode[]): DeployedComponent => {
  const leader = leaderAfter(previous, nodes);
  return { ...previous, nodes, ...(leader ? { leader } : {}) };
};

describe('a cluster’s leader, as the health check records it', () => {
  it('reads a record from before it kept one as the node recorded as primary', () => {
    expect(leaderOf(component([node('db-0', 'primary', true), node('db-1', 'replica', true)]))).toBe('db-0');
    expect(leaderOf(component([node('db-0', 'replica', true), node('db-1', 'primary', false)], 'db-0'))).toBe('db-0');
  });

  it('sees a switchover caught half-way once the new leader serves, and only then', () => {
    const deployed = component([node('db-0', 'primary', true), node('db-1', 'replica', true)]);
    // Half-way: Patroni names db-1 the leader, but it does not serve yet.
    const halfway = check(deployed, [node('db-0', 'replica', false), node('db-1', 'primary', false)]);
    expect(halfway.leader).toBe('db-0');
    expect(movedLeaders([deployed], [halfway])).toEqual([]);
    // Done: db-1 serves as the primary.
    const done = check(halfway, [node('db-0', 'replica', true), node('db-1', 'primary', true)]);
    expect(done.leader).toBe('db-1');
    expect(movedLeaders([halfway], [done]).map((entry) => entry.id)).toEqual(['db']);
    // And only once.
    const after = check(done, [node('db-0', 'replica', true), node('db-1', 'primary', true)]);
    expect(movedLeaders([done], [after])).toEqual([]);
  });

  it('sees no change when the same leader comes back after an outage', () => {
    const deployed = component([node('db-0', 'primary', true), node('db-1', 'replica', true)], 'db-0');
    const down = check(deployed, [node('db-0', 'primary', false), node('db-1', 'replica', false)]);
    const back = check(down, [node('db-0', 'primary', true), node('db-1', 'replica', true)]);
    expect(down.leader).toBe('db-0');
    expect(movedLeaders([deployed], [down])).toEqual([]);
    expect(movedLeaders([down], [back])).toEqual([]);
  });

  it('sees no change for a component that was not deployed before', () => {
    const now = check(component([]), [node('db-0', 'primary', true)]);
    expect(movedLeaders([], [now])).toEqual([]);
  });
});
