import { appContext } from './app-context.ts';
import type { AppInput } from './app-context.ts';
import { required } from './context.ts';
import { pollState } from './poll.ts';
import { step } from './step.ts';

export const handler = step('CheckBuild', async (input: AppInput) => {
  const build = required(input.build, 'the build');
  if (build.release) return { state: 'done' as const, polls: 1, reason: '', release: build.release };
  const { target, apps } = await appContext(input);
  const progress = await apps.buildStatus(target, build);
  const poll = pollState(
    'CheckBuild',
    progress.state === 'done' ? { state: 'done' } : progress,
    input.poll,
    `the build of ${target.component.id}`,
    target.component.id,
  );
  return progress.state === 'done' ? { ...poll, release: progress.release } : poll;
});
