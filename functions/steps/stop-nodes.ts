import type { DeployedComponent } from '@cloudseed/shared';
import { providerFor } from '../providers/index.ts';
import type { NodeRef, Progress } from '../providers/provider.ts';
import { currentDeployment, nodeRefOf, targetOf } from './context.ts';
import type { DeploymentInput, PollState } from './context.ts';
import { pollState } from './poll.ts';
import { step } from './step.ts';

/**
 * Stops every deployed database's nodes, asked again until each one is stopped: a cluster's
 * replicas first, and its leader once they are, so that the leader stays the leader and holds
 * every commit when the cluster starts again.
 */
export const handler = step('StopNodes', async (input: DeploymentInput & { poll?: PollState }) => {
  const deployment = await currentDeployment(input);
  const provider = await providerFor(deployment.spec.target);
  const waiting: string[] = [];
  for (const component of deployment.components ?? []) {
    const target = await targetOf(deployment, component.id);
    const { followers, leaders } = stopOrder(component);
    let progress: Progress = await provider.stopNodes(target, followers);
    if (progress.state === 'done') progress = await provider.stopNodes(target, leaders);
    if (progress.state === 'failed') return pollState('StopNodes', progress, input.poll, 'the nodes to stop', component.id);
    if (progress.state === 'pending') waiting.push(`${component.id}: ${progress.detail}`);
  }
  const progress: Progress = waiting.length === 0 ? { state: 'done' } : { state: 'pending', detail: waiting.join('; ') };
  return pollState('StopNodes', progress, input.poll, 'the nodes to stop');
});

/** The nodes that lead (as the health check last saw them; the deployed primary when it saw no cluster) and the others. */
export function stopOrder(component: DeployedComponent): { followers: NodeRef[]; leaders: NodeRef[] } {
  const leads = (node: DeployedComponent['nodes'][number]) =>
    node.ha ? node.ha.patroniRole === 'leader' || node.ha.patroniRole === 'standby_leader' : node.role === 'primary';
  const leaders = component.nodes.filter(leads);
  // A cluster seen with no leader at all stops its deployed primary last.
  const last = leaders.length > 0 ? leaders : component.nodes.filter((node) => node.role === 'primary');
  return {
    followers: component.nodes.filter((node) => !last.includes(node)).map(nodeRefOf),
    leaders: last.map(nodeRefOf),
  };
}
