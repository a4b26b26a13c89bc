import type { DeployedComponent } from '@cloudseed/shared';
import { deployments } from '../lib/plans.ts';
import type { DeploymentInput } from './context.ts';
import { required } from './context.ts';
import { step } from './step.ts';

/** Green: what runs is recorded, the failure and any health alarm cleared, the lock released. */
export const handler = step('MarkRunning', async (input: DeploymentInput & { components?: DeployedComponent[] }) => {
  await deployments.update(
    input.ownerId,
    input.planId,
    input.deploymentId,
    { status: 'running', components: required(input.components, 'the deployed components'), endedAt: new Date().toISOString() },
    ['failure', 'degraded'],
  );
  return { status: 'running' };
});
