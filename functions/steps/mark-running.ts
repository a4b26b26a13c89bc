import type { DeployedApp, DeployedComponent } from '@cloudseed/shared';
import { deployments } from '../lib/plans.ts';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { required } from './context.ts';
import { step } from './step.ts';

/**
 * Green: what runs is recorded, the failure and any health alarm cleared, the lock released. What
 * this execution deployed replaces what the record held for the same ids; a component it did not
 * touch (a rollback deploys one app) keeps its entry while the plan still has it.
 */
export const handler = step('MarkRunning', async (input: DeploymentInput & { components?: DeployedComponent[]; apps?: DeployedApp[] }) => {
  const deployment = await currentDeployment(input);
  const inPlan = new Set(deployment.spec.components.map((component) => component.id));
  const merge = <T extends { readonly id: string }>(fresh: readonly T[], before: readonly T[] | undefined): T[] => [
    ...fresh,
    ...(before ?? []).filter((entry) => inPlan.has(entry.id) && !fresh.some((candidate) => candidate.id === entry.id)),
  ];
  await deployments.update(
    input.ownerId,
    input.planId,
    input.deploymentId,
    {
      status: 'running',
      components: merge(required(input.components, 'the deployed components'), deployment.components),
      apps: merge(input.apps ?? [], deployment.apps),
      endedAt: new Date().toISOString(),
    },
    ['failure', 'degraded', 'rollback'],
  );
  return { status: 'running' };
});
