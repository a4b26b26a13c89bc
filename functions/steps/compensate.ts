import { deleteBackupSchedule } from '../lib/schedules.ts';
import { currentDeployment, targetOf } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { providerFor } from '../providers/index.ts';
import { step } from './step.ts';

/** Undoes a failed create: every component's nodes, security group and secrets. Updates keep what runs. */
export const handler = step('Compensate', async (input: DeploymentInput) => {
  const deployment = await currentDeployment(input);
  if (deployment.mode !== 'create') return { compensated: false };
  const provider = await providerFor(deployment.spec.target);
  for (const component of deployment.spec.components) {
    await deleteBackupSchedule(deployment.planId, component.id);
    await provider.destroy(await targetOf(deployment, component.id));
  }
  return { compensated: true };
});
