import { backups } from '../lib/backups.ts';
import { backupContext, recordedResult } from './backup-context.ts';
import { currentDeployment } from './context.ts';
import type { DeploymentInput } from './context.ts';
import { step } from './step.ts';

/** Restores a backup into the running application database, after checking the object's checksum. */
export const handler = step('RestoreBackup', async (input: DeploymentInput & { backupId?: string }) => {
  await currentDeployment(input);
  const record = input.backupId ? await backups.get(input.ownerId, input.planId, input.backupId) : undefined;
  if (!record) throw new Error(`there is no backup ${input.backupId ?? ''}`);
  const context = await backupContext(input.ownerId, input.planId, record.componentId, record.backupId);
  await context.provider.restoreBackup(context.target, context.primary, record.location, recordedResult(record));
  return { restored: record.backupId };
});
