import { backups } from '../lib/backups.ts';
import { kindOf } from '@cloudseed/shared/backups/backups';
import { backupContext, recordedArchive, recordedResult } from './backup-context.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/**
 * Proves the backup: a physical one restored into a scratch server and replayed to its restore
 * point, then pgbackrest verify; a logical one restored into a scratch database. Every table is
 * compared with what was recorded when the backup was taken.
 */
export const handler = step('ValidateBackup', async (input: BackupInput) => {
  const { target, provider, primary, record } = await backupContext(input.ownerId, input.planId, input.componentId, input.backupId);
  if (!target.component.db.backup.validate) {
    await backups.update(input.ownerId, input.planId, record.backupId, {
      validation: { status: 'skipped', detail: 'validation is off in the plan' },
    });
    return { validation: 'skipped' };
  }
  const validation =
    kindOf(record) === 'physical'
      ? await provider.validateArchiveBackup(target, primary, recordedArchive(record))
      : await provider.validateBackup(target, primary, record.location, recordedResult(record));
  await backups.update(input.ownerId, input.planId, record.backupId, { validation });
  return { validation: validation.status };
});
