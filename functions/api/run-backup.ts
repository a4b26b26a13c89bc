import { randomBytes } from 'node:crypto';
import { newBackupId } from '@cloudseed/shared/backups/backups';
import { componentById, databaseComponent } from '@cloudseed/shared/cs-json/components';
import { Conflict } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { backupLocationFor, backups } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';
import { quotas } from '../lib/usage.ts';
import { startBackup } from '../lib/workflows.ts';

/**
 * Run now: backs up the database `?component=<id>` names, else the plan's first. Counts against the
 * daily limit (429 past it), takes the backup lock (409 while one runs), opens the record, starts the backup workflow.
 */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const deployment = await deployments.get(user.sub, plan.id);
  const componentId = databaseComponent(deployment?.spec ?? plan.spec, query.component, '?component').id;
  if (deployment?.status !== 'running' || !componentById({ components: deployment.components ?? [] }, componentId))
    throw new Conflict('The plan is not running; deploy it before backing it up.');
  const now = new Date();
  const backupId = newBackupId(now, randomBytes(4).toString('hex'));
  const location = await backupLocationFor(user.sub, deployment.spec.target, { planId: plan.id, componentId, backupId });
  await quotas.startBackup(user.sub, async () => {
    await deployments.claimBackup(user.sub, plan.id, backupId);
    try {
      await backups.create({
        ownerId: user.sub,
        planId: plan.id,
        backupId,
        componentId,
        trigger: 'manual',
        status: 'running',
        startedAt: now.toISOString(),
        location,
        validation: { status: 'pending' },
      });
      await startBackup({ ownerId: user.sub, planId: plan.id, componentId, backupId });
    } catch (error) {
      await deployments.releaseBackup(user.sub, plan.id, backupId, undefined);
      throw error;
    }
  });
  return json(202, { backupId }, { location: `/v1/plan/${plan.id}/backups` });
});
