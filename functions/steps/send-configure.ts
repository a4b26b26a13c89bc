import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('SendConfigure', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  return provider.sendCommand(target, required(input.nodes, 'the nodes'), 'configure');
});
