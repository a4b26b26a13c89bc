import { appContext, linkedDatabase } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { step } from './step.ts';

/** Refuses what cannot be built or run before anything starts: no app user, no account, a database that did not deploy. */
export const handler = step('PrepareApp', async (input: AppInput) => {
  const { deployment, target, apps } = await appContext(input);
  linkedDatabase(input, deployment, target.component);
  await apps.preflightApp(target);
  return { prepared: target.component.id };
});
