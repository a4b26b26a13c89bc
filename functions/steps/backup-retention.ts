import { expiredBackups, kindOf } from '@cloudseed/shared/backups/backups';
import { backups } from '../lib/backups.ts';
import { backupContext } from './backup-context.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/**
 * Removes backups older than the plan's retention, objects first; the newest good one always stays.
 * pgBackRest expires physical backups and their WAL itself (repo1-retention-full, by days), at
 * the end of each backup: only their records go here.
 */
export const handler = step('ApplyRetention', async (input: BackupInput) => {
  const { target, provider } = await backupContext(input.ownerId, input.planId, input.componentId, input.backupId);
  const all = (await backups.listAll(input.ownerId, input.planId)).filter((record) => record.componentId === input.componentId);
  const expired = expiredBackups(all, target.component.db.backup.retentionDays, new Date());
  for (const record of expired) {
    if (kindOf(record) === 'logical') await provider.deleteBackup(target, record.location);
    await backups.delete(input.ownerId, input.planId, record.backupId);
  }
  return { removed: expired.length };
});
