import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';

export const handler = authedRoute(async ({ user, params }) => {
  const { deploymentId, mode } = await deploys.deploy(user.sub, params.id ?? '');
  return json(202, { deploymentId, mode }, { location: `/v1/plan/${params.id ?? ''}/deployment` });
});
