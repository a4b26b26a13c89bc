import { PermanentError } from '../providers/errors.ts';
import { appContext } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { step } from './step.ts';

/** Starts building the app from its repository; a rollback builds nothing and names the version that served before. */
export const handler = step('BuildApp', async (input: AppInput) => {
  const { deployment, target, apps } = await appContext(input);
  if (deployment.rollback?.componentId === input.componentId) {
    const previous = deployment.apps?.find((app) => app.id === input.componentId)?.previous;
    if (!previous) throw new PermanentError(`${input.componentId} has no previous version to roll back to`);
    const { deployedAt: _deployedAt, ...release } = previous;
    return { buildId: release.buildId, release };
  }
  return apps.startBuild(target);
});
