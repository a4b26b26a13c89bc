import { backups } from '../lib/backups.ts';
import { backupContext } from './backup-context.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/** pg_dump on the primary, streamed to S3, with every table's row count and checksum from the same snapshot. */
export const handler = step('DumpBackup', async (input: BackupInput) => {
  const { target, provider, primary, record } = await backupContext(input.ownerId, input.planId, input.componentId, input.backupId);
  const result = await provider.backup(target, primary, record.location);
  await backups.update(input.ownerId, input.planId, record.backupId, { ...result, tables: [...result.tables] });
  return { sizeBytes: result.sizeBytes };
});
