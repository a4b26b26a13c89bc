import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { newRolePassword } from '../lib/roles.ts';

/**
 * A new password for one of the plan's roles (`db.roles`) in the database `?component=<id>`, else
 * the plan's first: answered once, with the role's connection string; the old password stops working.
 */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  return json(200, await newRolePassword(user.sub, plan.id, query.component, params.role ?? ''));
});
