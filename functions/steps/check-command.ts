import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { pollState } from './poll.ts';
import { step } from './step.ts';

export const handler = step('CheckCommand', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  const command = required(input.command, 'the command');
  const name = command.kind === 'install' ? 'CheckInstall' : 'CheckConfigure';
  return pollState(name, await provider.commandStatus(target, command), input.poll, `the ${command.kind} command`);
});
