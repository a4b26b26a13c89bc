import { randomBytes } from 'node:crypto';
import { Conflict } from '@cloudseed/shared/errors';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import { backupLocationFor, backups } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
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
  let location;
  try {
    location = await backupLocationFor(input.ownerId, deployment.spec.target, { planId: input.planId, componentId: input.componentId, backupId });
  } catch (error) {
    // The account's bucket is derived from its connection; without one there is nowhere to put a backup.
    if (error instanceof Conflict) return { ...input, skipped: 'the AWS account of the plan is not connected' };
    throw error;
  }
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
    location,
    validation: { status: 'pending' },
  });
  return { ...input, backupId, skipped: false };
});
