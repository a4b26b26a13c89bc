import { authedRoute } from '../lib/authed-route.ts';
import { deploys } from '../lib/deploys.ts';
import { json } from '../lib/http.ts';

/**
 * Starts a stopped plan's databases again as they were deployed (202; `starting`, then `running`).
 * Their nodes are configured again: a cloud machine may come back with a new address.
 */
export const handler = authedRoute(async ({ user, params }) => {
  const planId = params.id ?? '';
  const { deploymentId } = await deploys.start(user.sub, planId);
  return json(202, { status: 'starting', deploymentId }, { location: `/v1/plan/${planId}/deployment` });
});
