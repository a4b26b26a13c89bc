import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { resetQueries } from '../lib/queries.ts';

/** Forgets a database's statement counts (`?component=<id>`, else the plan's first): the top queries start again from now. */
export const handler = authedRoute(async ({ user, params, query }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  return json(200, { ...(await resetQueries(user.sub, plan.id, query.component)), resetAt: new Date().toISOString() });
});
