import { deleteBackupSchedule } from '../lib/schedules.ts';
import { componentContext } from './context.ts';
import type { ComponentInput } from './context.ts';
import { step } from './step.ts';

export const handler = step('Destroy', async (input: ComponentInput) => {
  const { target, provider } = await componentContext(input);
  await deleteBackupSchedule(input.planId, target.component.id);
  await provider.destroy(target);
  return { destroyed: target.component.id };
});
