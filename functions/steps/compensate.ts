import { deleteBackupSchedule } from '../lib/schedules.ts';
import { currentDeployment, targetOf } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { appComponents, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { accounts } from '../lib/accounts.ts';
import { appProviderFor, providerFor } from '../providers/index.ts';
import { appTargetOf } from './app-context.ts';
import { step } from './step.ts';

/** Undoes a failed create: every app, then every database's nodes, security group and secrets. Updates keep what runs. */
export const handler = step('Compensate', async (input: DeploymentInput) => {
  const deployment = await currentDeployment(input);
  if (deployment.mode !== 'create') return { compensated: false };
  const provider = await providerFor(deployment.spec.target);
  const account = await accounts.connectionFor(deployment.ownerId, deployment.spec.target);
  // Apps first: they use the databases.
  for (const app of appComponents(deployment.spec)) {
    const apps = await appProviderFor(deployment.spec.target);
    await apps.destroyApp(appTargetOf(deployment, app.id, account));
  }
  for (const component of postgresComponents(deployment.spec)) {
    await deleteBackupSchedule(deployment.planId, component.id);
    await provider.destroy(await targetOf(deployment, component.id));
  }
  return { compensated: true };
});
