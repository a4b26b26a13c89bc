import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';
import { plans } from '../lib/plans.ts';
import { quotas } from '../lib/usage.ts';

export const handler = authedRoute(async ({ user, params }) => {
  const plan = await plans.get(user.sub, params.id ?? '');
  const { deploymentId, mode } = await quotas.deployPlan(user.sub, plan.id, plan.spec, () => deploys.deploy(user.sub, plan.id));
  return json(202, { deploymentId, mode }, { location: `/v1/plan/${plan.id}/deployment` });
});
