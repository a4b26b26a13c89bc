import { kindOf } from '@cloudseed/shared/backups/backups';
import { backups } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import { providerFor } from '../providers/index.ts';
import type { BackupInput } from './backup-context.ts';
import { targetOf } from './context.ts';
import { failureFromCause, step } from './step.ts';

/** A failed backup: recorded with its reason, its object removed, the plan red until the next good backup. */
export const handler = step('RecordBackupFailure', async (input: BackupInput) => {
  const failure = failureFromCause(input.error);
  if (!input.backupId) return { recorded: false, reason: failure.reason };
  const at = new Date().toISOString();
  const [record, deployment] = await Promise.all([
    backups.get(input.ownerId, input.planId, input.backupId),
    deployments.get(input.ownerId, input.planId),
  ]);
  if (record) {
    await backups.update(input.ownerId, input.planId, input.backupId, {
      status: 'failed',
      finishedAt: at,
      error: `${failure.step}: ${failure.reason}`,
      validation: record.validation.status === 'pending' ? { status: 'skipped', detail: 'the backup did not complete' } : record.validation,
    });
    // pgBackRest keeps no failed backup set; a logical export's partial objects go.
    if (deployment && kindOf(record) === 'logical')
      await (await providerFor(deployment.spec.target)).deleteBackup(await targetOf(deployment, input.componentId), record.location);
  }
  await deployments.releaseBackup(input.ownerId, input.planId, input.backupId, {
    step: failure.step,
    reason: `backup ${input.backupId} failed: ${failure.reason}`,
    at,
  });
  return { recorded: true, reason: failure.reason };
});
