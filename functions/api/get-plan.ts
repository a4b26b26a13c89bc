import { etagOf, toResource } from '@cloudseed/shared/plans/plans';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';

export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  return json(200, toResource(plan, await deployments.get(user.sub, plan.id)), { etag: etagOf(plan) });
});
