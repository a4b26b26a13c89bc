import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { pollState } from './poll.ts';
import { step } from './step.ts';

export const handler = step('CheckNodes', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  const progress = await provider.nodesReady(target, required(input.nodes, 'the nodes'));
  return pollState('CheckNodes', progress, input.poll, 'the nodes to run with their agent online');
});
