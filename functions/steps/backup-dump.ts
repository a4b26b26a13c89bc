import { kindOf } from '@cloudseed/shared/backups/backups';
import { archiveBackupKey, backups } from '../lib/backups.ts';
import { backupContext } from './backup-context.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/**
 * Takes the backup on the primary: a pgBackRest backup with the fingerprints of its restore point
 * (physical), or pg_dump streamed to S3 with every table's fingerprint from its snapshot (logical).
 */
export const handler = step('DumpBackup', async (input: BackupInput) => {
  const { target, provider, primary, record } = await backupContext(input.ownerId, input.planId, input.componentId, input.backupId);
  if (kindOf(record) === 'physical') {
    const result = await provider.archiveBackup(target, primary, { backupId: record.backupId, type: record.type ?? 'full' });
    await backups.update(input.ownerId, input.planId, record.backupId, {
      ...result,
      tables: [...result.tables],
      location: { bucket: record.location.bucket, key: archiveBackupKey(input.planId, record.componentId, result.label) },
    });
    return { sizeBytes: result.sizeBytes, label: result.label };
  }
  const result = await provider.backup(target, primary, record.location);
  await backups.update(input.ownerId, input.planId, record.backupId, { ...result, tables: [...result.tables] });
  return { sizeBytes: result.sizeBytes };
});
