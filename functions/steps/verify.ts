import { componentContext, required } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('Verify', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  await provider.verify(target, required(input.nodes, 'the nodes'));
  return { verified: true };
});
