import { randomBytes } from 'node:crypto';
import { Conflict } from '@cloudseed/shared/errors';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import { kindOf } from '@cloudseed/shared/backups/backups';
import { componentById, postgresComponents } from '@cloudseed/shared/cs-json/components';
import { scheduledBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import type { ArchiveBackupType } from '@cloudseed/shared/postgres/pgbackrest';
import { backupLocationFor, backups, openBackup } from '../lib/backups.ts';
import { deployments } from '../lib/plans.ts';
import type { BackupInput } from './backup-context.ts';
import { step } from './step.ts';

/**
 * A scheduled backup takes the plan's backup lock and opens its record here; a backup started
 * from the API arrives with both done. A plan that is not running, or already backing up, is
 * skipped. What pgBackRest is asked for follows the plan's schedule (scheduledBackupType).
 */
export const handler = step('StartBackup', async (input: BackupInput): Promise<BackupInput> => {
  if (input.backupId) return { ...input, skipped: false };
  const deployment = await deployments.get(input.ownerId, input.planId);
  const component =
    deployment?.status === 'running' ? componentById({ components: postgresComponents(deployment.spec) }, input.componentId) : undefined;
  if (!deployment || !component || !deployment.components?.some((deployed) => deployed.id === input.componentId)) {
    return { ...input, skipped: 'the plan is not running' };
  }
  const now = new Date();
  const backupId = newBackupId(now, randomBytes(4).toString('hex'));
  try {
    await backupLocationFor(input.ownerId, deployment.spec.target, { planId: input.planId, componentId: input.componentId, backupId }, 'physical');
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
  const type = await typeFor(input, component.db.backup.fullEveryDays, now);
  await openBackup(deployment.spec.target, { ...input, backupId, kind: 'physical', type, now });
  return { ...input, backupId, skipped: false };
});

/** The component's physical backups that succeeded say whether the daily one is a full or a differential. */
async function typeFor(input: BackupInput, fullEveryDays: number, now: Date): Promise<ArchiveBackupType> {
  const history = (await backups.listAll(input.ownerId, input.planId)).flatMap((record) =>
    record.componentId === input.componentId && kindOf(record) === 'physical' && record.status === 'succeeded' && record.type
      ? [{ type: record.type, startedAt: record.startedAt }]
      : [],
  );
  return scheduledBackupType(input.trigger === 'incremental' ? 'incremental' : 'daily', history, now, fullEveryDays);
}
