import { alerts } from '../lib/alerts.ts';
import { deployments, plans } from '../lib/plans.ts';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/** Last step of a teardown: nothing runs any more, so the plan, its deployment record and its alerts go. */
export const handler = step('DeletePlan', async (input: DeploymentInput) => {
  await currentDeployment(input);
  await plans.delete(input.ownerId, input.planId).catch((error: unknown) => {
    if (!(error instanceof Error && error.name === 'NotFound')) throw error;
  });
  await alerts.deleteAll(input.ownerId, input.planId);
  await deployments.delete(input.ownerId, input.planId, input.deploymentId);
  return { deleted: input.planId };
});
