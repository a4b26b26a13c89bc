import { BACKUP_ID } from '@cloudseed/shared/backups/backups';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { backups } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { startBackup } from '../lib/backup-workflow.ts';

/** Proves an existing backup again: restore into a scratch database and compare (202; the result lands on the backup). */
export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const backupId = params.backupId ?? '';
  const record = BACKUP_ID.test(backupId) ? await backups.get(user.sub, plan.id, backupId) : undefined;
  if (!record) throw new NotFound(`There is no backup ${backupId}.`);
  if (record.status !== 'succeeded') throw new Conflict(`Backup ${backupId} did not complete; there is nothing to validate.`);
  await deployments.claimBackup(user.sub, plan.id, backupId);
  try {
    await backups.update(user.sub, plan.id, backupId, { validation: { status: 'pending' } });
    await startBackup({ ownerId: user.sub, planId: plan.id, componentId: record.componentId, backupId, validateOnly: true });
  } catch (error) {
    await deployments.releaseBackup(user.sub, plan.id, backupId, undefined);
    throw error;
  }
  return json(202, { backupId, validation: 'pending' });
});
