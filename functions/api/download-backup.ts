import { BACKUP_ID, kindOf } from '@cloudseed/shared/backups/backups';
import { Conflict, NotFound } from '@cloudseed/shared/errors';
import { authedRoute } from '../lib/authed-route.ts';
import { backupDownloadUrl, backups } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';

const LINK_SECONDS = 900;

/** A short-lived link to a logical export's pg_dump archive (restore it with pg_restore). */
export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const backupId = params.backupId ?? '';
  const record = BACKUP_ID.test(backupId) ? await backups.get(user.sub, plan.id, backupId) : undefined;
  if (!record) throw new NotFound(`There is no backup ${backupId}.`);
  if (record.status !== 'succeeded') throw new Conflict(`Backup ${backupId} did not complete; there is nothing to download.`);
  if (kindOf(record) === 'physical')
    throw new Conflict(
      `Backup ${backupId} is a pgBackRest backup, restored in place rather than downloaded; take a logical export (POST /backups with { "kind": "logical" }) to download the database.`,
    );
  // The backup is where the plan was deployed when it was taken: its deployment's target, or the plan's once that is gone.
  const target = (await deployments.get(user.sub, plan.id))?.spec.target ?? plan.spec.target;
  const url = await backupDownloadUrl(user.sub, target, record.location, { filename: `${plan.id}-${backupId}.dump`, expiresIn: LINK_SECONDS });
  return json(200, {
    url,
    expiresAt: new Date(Date.now() + LINK_SECONDS * 1000).toISOString(),
    format: 'pg_dump custom format (pg_restore)',
    sha256: record.sha256,
  });
});
