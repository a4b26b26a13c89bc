import { backups } from '../lib/backups.ts';
import { backupContext, recordedResult } from './backup-context.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/** Restores the backup into a scratch database and compares every table with what the dump recorded. */
export const handler = step('ValidateBackup', async (input: BackupInput) => {
  const { target, provider, primary, record } = await backupContext(input.ownerId, input.planId, input.componentId, input.backupId);
  if (!target.component.db.backup.validate) {
    await backups.update(input.ownerId, input.planId, record.backupId, {
      validation: { status: 'skipped', detail: 'validation is off in the plan' },
    });
    return { validation: 'skipped' };
  }
  const validation = await provider.validateBackup(target, primary, record.location, recordedResult(record));
  await backups.update(input.ownerId, input.planId, record.backupId, { validation });
  return { validation: validation.status };
});
