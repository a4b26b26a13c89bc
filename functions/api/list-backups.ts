import { backupResource } from '@cloudseed/shared/backups/backups';
import { authedRoute } from '../lib/authed-route.ts';
import { backups } from '../lib/backups.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';

export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  return json(200, { items: (await backups.list(user.sub, plan.id)).map(backupResource) });
});
