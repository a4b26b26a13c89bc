import { appContext, databaseLinkOf } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { required } from './context.ts';
import { step } from './step.ts';

/** Runs the release command, then starts the new version beside the old one; traffic moves once it is healthy. */
export const handler = step('RolloutApp', async (input: AppInput) => {
  const { deployment, target, apps } = await appContext(input);
  const release = required(input.poll?.release, 'the built release');
  const database = await databaseLinkOf(input, deployment, target.component);
  const rollout = await apps.startRollout(target, release, database);
  return { ...rollout, release };
});
