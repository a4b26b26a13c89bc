import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('LaunchNodes', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  return provider.launchNodes(target, required(input.network, 'the security group'));
});
