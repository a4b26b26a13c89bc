import { alerts } from '../lib/alerts.ts';
import { deployments } from '../lib/plans.ts';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/**
 * Grey `stopped`: the nodes are stopped, their disks kept; the lock is released. The failure, the
 * health alarm and the open alerts of what ran before are cleared (a stopped plan is not watched;
 * a start or a deploy checks everything again); the nodes' recorded health says they are stopped.
 */
export const handler = step('MarkStopped', async (input: DeploymentInput) => {
  const deployment = await currentDeployment(input);
  const components = (deployment.components ?? []).map((component) => ({
    ...component,
    nodes: component.nodes.map(({ ha: _ha, ...node }) => ({ ...node, healthy: false, detail: 'stopped' })),
  }));
  await deployments.update(input.ownerId, input.planId, input.deploymentId, { status: 'stopped', components, endedAt: new Date().toISOString() }, [
    'failure',
    'degraded',
  ]);
  const at = new Date().toISOString();
  const current = await alerts.list(input.ownerId, input.planId);
  for (const alert of current.open) await alerts.close(input.ownerId, input.planId, alert, at, current.closed);
  return { status: 'stopped' };
});
