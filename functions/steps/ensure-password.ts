import { componentContext } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('EnsurePassword', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  return provider.ensurePassword(target);
});
