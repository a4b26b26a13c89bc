import { etagOf, toResource } from '@cloudseed/shared/plans/plans';
import { authedRoute } from '../lib/authed-route.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { quotas } from '../lib/usage.ts';

export const handler = authedRoute(
  async ({ user, body }) => {
    const plan = await quotas.createPlan(user.sub, () => plans.create(user.sub, body));
    return json(201, toResource(plan), { etag: etagOf(plan), location: `/v1/plan/${plan.id}` });
  },
  { body: true },
);
