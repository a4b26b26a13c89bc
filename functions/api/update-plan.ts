import { etagOf, toResource } from '@cloudseed/shared/plans/plans';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { deployments, plans } from '../lib/plans.ts';

export const handler = authedRoute(
  async ({ user, params, body, headers }) => {
    const plan = await plans.update(user.sub, params.id ?? '', body, headers['if-match']);
    return json(200, toResource(plan, await deployments.get(user.sub, plan.id)), { etag: etagOf(plan) });
  },
  { body: true },
);
