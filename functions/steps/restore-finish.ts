import { deployments } from '../lib/plans.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/** Green again after a restore; what runs is unchanged, so only the status and the lock change. */
export const handler = step('FinishRestore', async (input: DeploymentInput) => {
  await deployments.update(input.ownerId, input.planId, input.deploymentId, { status: 'running', endedAt: new Date().toISOString() }, ['failure']);
  return { status: 'running' };
});
