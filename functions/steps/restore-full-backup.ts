import { randomBytes } from 'node:crypto';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import { openBackup } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import { startBackup } from '../lib/workflows.ts';
import { required } from './context.ts';
import type { RestoreInput } from './restore.ts';
import { step } from './step.ts';

/**
 * A full backup right after the restore: the new timeline's first, so that the window and the
 * incrementals after it do not lean on backups of the history the restore left.
 */
export const handler = step('StartFullBackup', async (input: RestoreInput) => {
  const request = required(input.restore, 'the restore request');
  const deployment = await deployments.get(input.ownerId, input.planId);
  if (!deployment) throw new Error('the plan is not deployed');
  const now = new Date();
  const backupId = newBackupId(now, randomBytes(4).toString('hex'));
  await deployments.claimBackup(input.ownerId, input.planId, backupId);
  try {
    const opening = { ownerId: input.ownerId, planId: input.planId, componentId: request.componentId, backupId, now };
    await openBackup(deployment.spec.target, { ...opening, trigger: 'restore', kind: 'physical', type: 'full' });
    await startBackup({ ownerId: input.ownerId, planId: input.planId, componentId: request.componentId, backupId });
  } catch (error) {
    await deployments.releaseBackup(input.ownerId, input.planId, backupId, undefined);
    throw error;
  }
  return { backupId };
});
