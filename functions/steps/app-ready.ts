import type { DeployedApp } from '@cloudseed/shared';
import { appContext } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { required } from './context.ts';
import { step } from './step.ts';

/** The app serves the new version at its stable address; the result is what the Map collects for the record. */
export const handler = step('AppReady', async (input: AppInput): Promise<DeployedApp> => {
  const { deployment, target, apps } = await appContext(input);
  const { release } = required(input.rollout, 'the rollout');
  const { url } = await apps.endpoint(target);
  const before = deployment.apps?.find((app) => app.id === target.component.id);
  const serving = { ...release, deployedAt: new Date().toISOString() };
  // A re-deploy of the build that serves keeps the version before it; anything else pushes what served back one place.
  const previous = before && before.serving.buildId !== release.buildId ? before.serving : before?.previous;
  return { id: target.component.id, url, serving, ...(previous ? { previous } : {}) };
});
