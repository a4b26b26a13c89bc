import { authedRoute } from '../lib/authed-route.ts';
import { planAlerts } from '../lib/alerts.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';

/** A plan's alert settings, the incidents open now and those that cleared (newest first). */
export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  return json(200, await planAlerts(user.sub, plan.id));
});
