import { appContext } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { required } from './context.ts';
import { pollState } from './poll.ts';
import { step } from './step.ts';

export const handler = step('CheckRollout', async (input: AppInput) => {
  const { target, apps } = await appContext(input);
  const rollout = required(input.rollout, 'the rollout');
  return pollState(
    'CheckRollout',
    await apps.rolloutStatus(target, rollout),
    input.poll,
    `the rollout of ${target.component.id}`,
    target.component.id,
  );
});
