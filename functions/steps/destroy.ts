import { accounts } from '../lib/accounts.ts';
import { deleteBackupSchedule } from '../lib/schedules.ts';
import { appProviderFor } from '../providers/index.ts';
import { appTargetOf } from './app-context.ts';
import { componentContext, currentDeployment } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('Destroy', async (input: ComponentInput) => {
  const deployment = await currentDeployment(input);
  const kind = deployment.spec.components.find((component) => component.id === input.componentId)?.type;
  if (kind === 'app') {
    const account = await accounts.connectionFor(deployment.ownerId, deployment.spec.target);
    const apps = await appProviderFor(deployment.spec.target);
    await apps.destroyApp(appTargetOf(deployment, input.componentId, account));
    return { destroyed: input.componentId };
  }
  const { target, provider } = await componentContext(input);
  await deleteBackupSchedule(input.planId, target.component.id);
  await provider.destroy(target);
  return { destroyed: target.component.id };
});
