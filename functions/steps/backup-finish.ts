import { backups } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/** The backup is done; a backup that did not validate turns the plan red until the next good one. */
export const handler = step('FinishBackup', async (input: BackupInput) => {
  const backupId = input.backupId ?? '';
  const record = await backups.get(input.ownerId, input.planId, backupId);
  if (!record) throw new Error(`there is no backup ${backupId}`);
  const at = new Date().toISOString();
  await backups.update(input.ownerId, input.planId, backupId, { status: 'succeeded', finishedAt: at });
  const failed = record.validation.status === 'failed';
  await deployments.releaseBackup(
    input.ownerId,
    input.planId,
    backupId,
    failed ? { step: 'ValidateBackup', reason: `backup ${backupId} did not validate: ${record.validation.detail ?? 'no detail'}`, at } : undefined,
  );
  return { status: 'succeeded', validation: record.validation.status };
});
