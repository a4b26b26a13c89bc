import { startFullBackup } from '../lib/backup-workflow.ts';
import { deployments } from '../lib/plans.ts';
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
  return { backupId: await startFullBackup(deployment, request.componentId, 'restore') };
});
