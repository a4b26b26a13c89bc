import { BACKUP_ID, kindOf } from '@cloudseed/shared/backups/backups';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { backups } from '../lib/backups.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { badRequest } from '../lib/problems.ts';
import { quotas } from '../lib/usage.ts';

/**
 * Restores a backup into the running deployment; the body must say `{ "confirm": true }`. A
 * physical backup rebuilds the cluster as it was at the backup's end (its restore point); a
 * logical one is loaded into the application database.
 */
export const handler = authedRoute(
  async ({ user, params, body }) => {
    const confirmed =
      typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      Object.keys(body).length === 1 &&
      (body as { confirm?: unknown }).confirm === true;
    if (!confirmed)
      throw badRequest('A restore replaces the database\'s contents; send { "confirm": true } to go ahead.', [
        { path: '/confirm', message: 'must be true (and the only field)' },
      ]);
    const plan = await plans.get(user.sub, params.id ?? '');
    const backupId = params.backupId ?? '';
    const record = BACKUP_ID.test(backupId) ? await backups.get(user.sub, plan.id, backupId) : undefined;
    if (!record) throw new NotFound(`There is no backup ${backupId}.`);
    if (record.status !== 'succeeded') throw new Conflict(`Backup ${backupId} did not complete; choose another one.`);
    const kind = kindOf(record) === 'physical' ? 'backup' : 'logical';
    await quotas.startBackup(user.sub, () => deploys.restore(user.sub, plan.id, { kind, componentId: record.componentId, backupId }));
    return json(202, { status: 'restoring', backupId }, { location: `/v1/plan/${plan.id}/deployment` });
  },
  { body: true },
);
