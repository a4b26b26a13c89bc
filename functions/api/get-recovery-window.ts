import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { recoveryWindowOf } from '../lib/recovery.ts';

/** The times a point-in-time restore of the database (`?component=<id>`, else the plan's first) can reach. */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const { componentId, window } = await recoveryWindowOf(user.sub, plan.id, query.component);
  return json(200, { component: componentId, earliest: window?.earliest ?? null, latest: window?.latest ?? null });
});
