import { randomBytes } from 'node:crypto';
import { Conflict } from '@cloudseed/shared/errors';
import { backupKey, newBackupId } from '@cloudseed/shared/backups/backups';
import { backups } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import { backupBucket } from '../lib/s3.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/**
 * A scheduled backup takes the plan's backup lock and opens its record here; a backup started
 * from the API arrives with both done. A plan that is not running, or already backing up, is skipped.
 */
export const handler = step('StartBackup', async (input: BackupInput): Promise<BackupInput> => {
  if (input.backupId) return { ...input, skipped: false };
  const deployment = await deployments.get(input.ownerId, input.planId);
  if (deployment?.status !== 'running' || !deployment.components?.some((component) => component.id === input.componentId)) {
    return { ...input, skipped: 'the plan is not running' };
  }
  const now = new Date();
  const backupId = newBackupId(now, randomBytes(4).toString('hex'));
  try {
    await deployments.claimBackup(input.ownerId, input.planId, backupId);
  } catch (error) {
    if (error instanceof Conflict) return { ...input, skipped: 'another backup of the plan is running' };
    throw error;
  }
  await backups.create({
    ownerId: input.ownerId,
    planId: input.planId,
    backupId,
    componentId: input.componentId,
    trigger: input.trigger,
    status: 'running',
    startedAt: now.toISOString(),
    location: { bucket: backupBucket(), key: backupKey(input.planId, input.componentId, backupId) },
    validation: { status: 'pending' },
  });
  return { ...input, backupId, skipped: false };
});
